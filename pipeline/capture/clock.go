package capture

import "time"

// Clock is the time the Camera's watchdog and backoff run on; tests replace
// it to drive them without sleeping.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of time.Timer the Camera uses.
type Timer interface {
	C() <-chan time.Time
	// Reset restarts the timer; a tick not yet received is discarded.
	Reset(d time.Duration)
	Stop()
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }

// Reset relies on Go 1.23 timers, whose Reset drops a pending tick.
func (t systemTimer) Reset(d time.Duration) { t.t.Reset(d) }

func (t systemTimer) Stop() { t.t.Stop() }
