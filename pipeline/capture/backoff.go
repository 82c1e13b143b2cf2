package capture

import "time"

// delay is the wait before reconnect attempt n (0 for the first), spread by
// jitter; random returns a number in [0, 1).
func (b Backoff) delay(n int, random func() float64) time.Duration {
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	spread := 1 + b.Jitter*(2*random()-1)
	return time.Duration(float64(d) * spread)
}
