package capture

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
)

// fakeClock moves only when told to. Timers fire during Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	waits  []time.Duration // every timer duration asked for, in order
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1), at: c.now.Add(d), armed: true}
	c.timers = append(c.timers, t)
	c.waits = append(c.waits, d)
	return t
}

// Advance moves the clock and fires the timers that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.armed && !t.at.After(c.now) {
			t.armed = false
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

type fakeTimer struct {
	clock *fakeClock
	ch    chan time.Time
	at    time.Time
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	select { // like Go's timers: a tick not yet received is dropped
	case <-t.ch:
	default:
	}
	t.at, t.armed = t.clock.now.Add(d), true
}

func (t *fakeTimer) Stop() {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.armed = false
}

// eventually advances the fake clock in steps until cond holds; the real
// deadline only guards against a hang.
func eventually(t *testing.T, clock *fakeClock, step time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if clock != nil {
			clock.Advance(step)
		}
		time.Sleep(time.Millisecond)
	}
}

// scriptedSource is a Source whose behaviour the test scripts: how many
// opens fail, how many frames each connection delivers, and whether it then
// ends, fails or hangs.
type scriptedSource struct {
	mu          sync.Mutex
	pool        *frame.Pool
	w, h        int
	failOpens   int         // the first opens that fail
	perConn     int         // frames per connection before afterFrames
	afterFrames string      // "eof", "error" or "hang"
	feed        chan []byte // if set, frames come from here
	opens       int
	closes      int
	readCancels int // reads that returned because ctx ended
	sent        int // frames in this connection
	open        bool
}

var errFakeOpen = errors.New("connection refused (fake)")

func (s *scriptedSource) Open(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens++
	if s.opens <= s.failOpens {
		return errFakeOpen
	}
	s.open, s.sent = true, 0
	return nil
}

func (s *scriptedSource) Read(ctx context.Context) (*frame.Frame, error) {
	s.mu.Lock()
	if !s.open {
		s.mu.Unlock()
		return nil, errors.New("read while closed")
	}
	if s.feed != nil {
		s.mu.Unlock()
		select {
		case pix := <-s.feed:
			f := s.pool.Get(s.w, s.h, s.w*3)
			copy(f.Pix, pix)
			return f, nil
		case <-ctx.Done():
			s.countCancel()
			return nil, ctx.Err()
		}
	}
	if s.perConn > 0 && s.sent >= s.perConn {
		after := s.afterFrames
		s.mu.Unlock()
		switch after {
		case "eof":
			return nil, io.EOF
		case "error":
			return nil, errors.New("lost signal (fake)")
		default: // hang until cancelled, as a stuck stream would
			<-ctx.Done()
			s.countCancel()
			return nil, ctx.Err()
		}
	}
	s.sent++
	s.mu.Unlock()
	f := s.pool.Get(s.w, s.h, s.w*3)
	for i := range f.Pix {
		f.Pix[i] = byte(i)
	}
	return f, nil
}

func (s *scriptedSource) countCancel() {
	s.mu.Lock()
	s.readCancels++
	s.mu.Unlock()
}

func (s *scriptedSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		s.closes++
	}
	s.open = false
	return nil
}

func (s *scriptedSource) String() string { return "scripted" }

func (s *scriptedSource) counts() (opens, closes, cancels int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens, s.closes, s.readCancels
}
