package capture

import (
	"context"
	"testing"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
)

// A buffer time on the monotonic clock becomes the wall time that long
// ago; one from another clock, the future or too long ago is not used.
func TestBufferTimeToWallClock(t *testing.T) {
	wall := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	mono := 5000 * time.Second
	for _, c := range []struct {
		ms   float64
		ok   bool
		want time.Time
	}{
		{5000_000 - 33, true, wall.Add(-33 * time.Millisecond)},
		{5000_000, true, wall},
		{5000_000 + 5, false, time.Time{}},    // in the future
		{5000_000 - 2500, false, time.Time{}}, // older than maxBufferAge
		{0, false, time.Time{}},               // no time given
		{1.7e12, false, time.Time{}},          // the wall clock in ms, not the monotonic one
	} {
		got, ok := monotonicToWall(c.ms, mono, wall)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("buffer %v ms: %v, %v; want %v, %v", c.ms, got, ok, c.want, c.ok)
		}
	}
	if monotonicNow() <= 0 {
		t.Error("CLOCK_MONOTONIC unreadable")
	}
}

// A frame that carries its source's time is stamped with it, not with the
// moment it reached the camera.
func TestSourceTimeStampsTheFrame(t *testing.T) {
	clock := newFakeClock()
	pool := frame.NewPool(4)
	src := &timedSource{scriptedSource: scriptedSource{pool: pool, w: 4, h: 3, feed: make(chan []byte)}, at: clock.Now().Add(-40 * time.Millisecond)}
	rc := startCamera(t, CameraConfig{}, src, clock)
	src.feed <- make([]byte, 4*3*3)
	f := rc.take(t, 1)[0]
	defer f.Release()
	if !f.CapturedAt.Equal(src.at) {
		t.Errorf("captured at %v, want the source's %v", f.CapturedAt, src.at)
	}
}

type timedSource struct {
	scriptedSource
	at time.Time
}

func (s *timedSource) Read(ctx context.Context) (*frame.Frame, error) {
	f, err := s.scriptedSource.Read(ctx)
	if f != nil {
		f.SourceTime = s.at
	}
	return f, err
}
