package capture

import (
	"context"
	"time"
)

// pacer spaces reads to a frame rate on the wall clock, without bursting to
// catch up after a slow consumer. A zero rate never waits.
type pacer struct {
	period time.Duration
	next   time.Time
	timer  *time.Timer
}

func newPacer(fps float64) pacer {
	if fps <= 0 {
		return pacer{}
	}
	return pacer{period: time.Duration(float64(time.Second) / fps)}
}

// wait blocks until the next frame is due or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if p.period == 0 {
		return ctx.Err()
	}
	now := time.Now()
	if p.next.IsZero() || now.Sub(p.next) > p.period {
		p.next = now
	}
	if d := p.next.Sub(now); d > 0 {
		if p.timer == nil {
			p.timer = time.NewTimer(d)
		} else {
			p.timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			p.timer.Stop()
			return ctx.Err()
		case <-p.timer.C:
		}
	}
	p.next = p.next.Add(p.period)
	return ctx.Err()
}

// restart forgets the schedule, e.g. after reopening.
func (p *pacer) restart() { p.next = time.Time{} }
