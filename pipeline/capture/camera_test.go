package capture

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
)

type runningCamera struct {
	cam    *Camera
	frames chan *frame.Frame
	cancel context.CancelFunc
	done   chan error
}

func startCamera(t *testing.T, cfg CameraConfig, src Source, clock Clock) *runningCamera {
	t.Helper()
	cam, err := NewCamera("cam0", cfg, frame.NewPool(8), WithSource(src), WithClock(clock),
		WithRandom(func() float64 { return 0.5 }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rc := &runningCamera{cam: cam, frames: make(chan *frame.Frame, 1000), cancel: cancel, done: make(chan error, 1)}
	deliver := func(f *frame.Frame) {
		select { // a full channel must not keep Run from seeing the cancel
		case rc.frames <- f:
		case <-ctx.Done():
			f.Release()
		}
	}
	go func() { rc.done <- cam.Run(ctx, deliver) }()
	t.Cleanup(func() {
		// nil after the cancel, io.EOF where a finite source ended first.
		if err := rc.stop(t); err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("camera Run: %v", err)
		}
	})
	return rc
}

// stop cancels the camera and returns what Run returned.
func (rc *runningCamera) stop(t *testing.T) error {
	rc.cancel()
	select {
	case err, ok := <-rc.done:
		if ok {
			close(rc.done)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
		return nil
	}
}

func (rc *runningCamera) take(t *testing.T, n int) []*frame.Frame {
	t.Helper()
	var got []*frame.Frame
	for len(got) < n {
		select {
		case f := <-rc.frames:
			got = append(got, f)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d frames, want %d", len(got), n)
		}
	}
	return got
}

var fastBackoff = Backoff{Min: time.Second, Max: 8 * time.Second, Jitter: 0.2}

func TestReconnectsWithBackoffAfterFailedOpens(t *testing.T) {
	clock := newFakeClock()
	src := &scriptedSource{pool: frame.NewPool(4), w: 4, h: 2, failOpens: 3}
	rc := startCamera(t, CameraConfig{Reconnect: fastBackoff}, src, clock)

	eventually(t, clock, 250*time.Millisecond, "three frames", func() bool { return len(rc.frames) >= 3 })
	for i, f := range rc.take(t, 3) {
		if f.Seq != uint64(i+1) || f.Camera != "cam0" {
			t.Errorf("frame %d: seq %d camera %q", i, f.Seq, f.Camera)
		}
		f.Release()
	}
	st := rc.cam.Status()
	if st.State != StateConnected || st.Reconnects != 3 || !strings.Contains(st.LastError, "connection refused") {
		t.Errorf("status %+v, want connected after 3 reconnects with the open error", st)
	}
	// Doubling from min (the jitter source sits at its midpoint), then the
	// stall timer of the working connection.
	waits := clock.Waits()
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, DefaultStallTimeout}
	for i, w := range want {
		if i >= len(waits) || waits[i] != w {
			t.Fatalf("timer durations %v, want them to start with %v", waits, want)
		}
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 5 * time.Second, Jitter: 0.2}
	mid := func() float64 { return 0.5 }
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := b.delay(n, mid); got != want {
			t.Errorf("attempt %d: %s, want %s", n, got, want)
		}
	}
	if lo, hi := b.delay(0, func() float64 { return 0 }), b.delay(0, func() float64 { return 0.999999 }); lo != 800*time.Millisecond || hi < 1199*time.Millisecond {
		t.Errorf("jitter range %s..%s, want 800ms..1.2s", lo, hi)
	}
}

func TestStalledSourceIsReopened(t *testing.T) {
	clock := newFakeClock()
	src := &scriptedSource{pool: frame.NewPool(4), w: 4, h: 2, perConn: 2, afterFrames: "hang"}
	cfg := CameraConfig{StallTimeout: 3 * time.Second, Reconnect: fastBackoff}
	rc := startCamera(t, cfg, src, clock)

	// Two frames, then the read hangs; only the watchdog can end it.
	eventually(t, clock, 500*time.Millisecond, "a second connection's frames", func() bool {
		opens, _, _ := src.counts()
		return opens >= 2 && len(rc.frames) >= 4
	})
	frames := rc.take(t, 4)
	for i, f := range frames {
		if f.Seq != uint64(i+1) {
			t.Errorf("frame %d has seq %d: numbering must carry on across reconnects", i, f.Seq)
		}
		f.Release()
	}
	st := rc.cam.Status()
	if st.Reconnects < 1 || !strings.Contains(st.LastError, "no frame for 3s") {
		t.Errorf("status %+v, want a reconnect after a stall", st)
	}
	if _, closes, cancels := src.counts(); closes < 1 || cancels < 1 {
		t.Errorf("closes %d, cancelled reads %d: the hung read must be cancelled and the source closed", closes, cancels)
	}
}

func TestReadErrorReconnectsAndDeliveryResetsBackoff(t *testing.T) {
	clock := newFakeClock()
	src := &scriptedSource{pool: frame.NewPool(4), w: 4, h: 2, perConn: 1, afterFrames: "error"}
	rc := startCamera(t, CameraConfig{Reconnect: fastBackoff}, src, clock)

	eventually(t, clock, 250*time.Millisecond, "four connections", func() bool {
		opens, _, _ := src.counts()
		return opens >= 4
	})
	st := rc.cam.Status()
	if !strings.Contains(st.LastError, "lost signal") || st.Reconnects < 3 {
		t.Errorf("status %+v", st)
	}
	// Every connection delivered a frame, so every wait is the minimum.
	for _, w := range clock.Waits() {
		if w != time.Second && w != DefaultStallTimeout {
			t.Errorf("waits %v: backoff grew although frames got through", clock.Waits())
			break
		}
	}
}

func TestFiniteSourceEndsRun(t *testing.T) {
	src := &scriptedSource{pool: frame.NewPool(4), w: 4, h: 2, perConn: 3, afterFrames: "eof"}
	rc := startCamera(t, CameraConfig{}, src, newFakeClock())
	var err error
	select {
	case err = <-rc.done:
		close(rc.done)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end with the source")
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("Run: %v, want io.EOF", err)
	}
	st := rc.cam.Status()
	if st.State != StateEnded || st.Frames != 3 || st.Reconnects != 0 {
		t.Errorf("status %+v, want ended after 3 frames", st)
	}
	if opens, closes, _ := src.counts(); opens != 1 || closes != 1 {
		t.Errorf("opens %d closes %d, want 1 and 1", opens, closes)
	}
}

func TestCancelStopsAndClosesTheSource(t *testing.T) {
	src := &scriptedSource{pool: frame.NewPool(4), w: 4, h: 2, feed: make(chan []byte)}
	rc := startCamera(t, CameraConfig{}, src, newFakeClock())
	eventually(t, nil, 0, "connected", func() bool { return rc.cam.Status().State == StateConnected })
	if err := rc.stop(t); err != nil {
		t.Errorf("Run after cancel: %v, want nil", err)
	}
	if st := rc.cam.Status(); st.State != StateStopped {
		t.Errorf("state %q, want stopped", st.State)
	}
	if opens, closes, cancels := src.counts(); opens != 1 || closes != 1 || cancels != 1 {
		t.Errorf("opens %d closes %d cancelled reads %d, want 1 each", opens, closes, cancels)
	}
}

func TestCameraOrientsStampsAndMeasures(t *testing.T) {
	clock := newFakeClock()
	src := &scriptedSource{pool: frame.NewPool(4), w: 4, h: 3, feed: make(chan []byte)}
	cfg := CameraConfig{ROI: &Rect{X: 1, Y: 1, Width: 2, Height: 2}, Rotate: 90}
	rc := startCamera(t, cfg, src, clock)

	img := letters(4, 3, 0) // a b c d / e f g h / i j k l
	var last *frame.Frame
	for i := 0; i < 3; i++ {
		src.feed <- img.Pix
		f := rc.take(t, 1)[0]
		if f.Seq != uint64(i+1) || !f.CapturedAt.Equal(clock.Now()) {
			t.Errorf("frame %d: seq %d captured %v, want %d at %v", i, f.Seq, f.CapturedAt, i+1, clock.Now())
		}
		last = f
		if i < 2 {
			f.Release()
			clock.Advance(100 * time.Millisecond)
		}
	}
	// ROI f g / j k, turned clockwise: j f / k g.
	if got := pixelLetters(last); got != "jf/kg" {
		t.Errorf("oriented frame %s, want jf/kg", got)
	}
	// The frame says how to find its pixels in the source.
	if want := (frame.Orientation{CropX: 1, CropY: 1, Rotate: 90}); last.Orient != want {
		t.Errorf("frame orientation %+v, want %+v", last.Orient, want)
	}
	last.Release()
	st := rc.cam.Status()
	if st.Frames != 3 || !st.LastFrame.Equal(clock.Now()) || st.FPS < 9.99 || st.FPS > 10.01 {
		t.Errorf("status %+v, want 3 frames at 10 fps, the last now", st)
	}
}
