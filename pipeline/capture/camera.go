package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
)

// ErrStalled is the error a camera records when its source went quiet for
// longer than the stall timeout.
var ErrStalled = errors.New("stalled")

// Camera runs a Source: it stamps and orients each frame, and keeps the
// source alive, reopening it with backoff when it fails or stalls.
type Camera struct {
	name   string
	cfg    CameraConfig
	src    Source
	orient orientation
	pool   *frame.Pool // frames handed to deliver
	raw    *frame.Pool // source frames, when they are oriented into pool
	clock  Clock
	random func() float64
	log    *slog.Logger

	seq uint64
	fps rateMeter

	mu     sync.Mutex
	status CameraStatus
}

// Option changes how a Camera is made.
type Option func(*Camera)

// WithSource uses src instead of the source the configuration describes.
func WithSource(src Source) Option { return func(c *Camera) { c.src = src } }

// WithClock runs the watchdog and backoff on clock.
func WithClock(clock Clock) Option { return func(c *Camera) { c.clock = clock } }

// WithRandom draws the backoff jitter from random, which returns [0, 1).
func WithRandom(random func() float64) Option { return func(c *Camera) { c.random = random } }

// WithLogger logs to l.
func WithLogger(l *slog.Logger) Option { return func(c *Camera) { c.log = l } }

// NewCamera makes the named camera. Delivered frames come from pool.
func NewCamera(name string, cfg CameraConfig, pool *frame.Pool, opts ...Option) (*Camera, error) {
	c := &Camera{name: name, pool: pool, clock: SystemClock{}, random: rand.Float64, log: slog.Default()}
	for _, o := range opts {
		o(c)
	}
	validate := cfg.Validate
	if c.src != nil { // an injected source makes the source block moot
		validate = cfg.validateSupervision
	}
	if err := validate(); err != nil {
		return nil, fmt.Errorf("camera %q: %w", name, err)
	}
	c.cfg = cfg.withDefaults()
	c.orient = newOrientation(c.cfg)
	c.log = c.log.With("camera", name)
	srcPool := pool
	if !c.orient.identity() {
		c.raw = frame.NewPool(4)
		srcPool = c.raw
	}
	if c.src == nil {
		src, err := New(c.cfg.Source, name, srcPool)
		if err != nil {
			return nil, err
		}
		c.src = src
	}
	c.status.State = StateConnecting
	return c, nil
}

// Name is the camera's name.
func (c *Camera) Name() string { return c.name }

// Status is a snapshot of the camera's state.
func (c *Camera) Status() CameraStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Run captures until ctx ends or a finite source runs out, handing each frame
// to deliver on Run's goroutine; deliver owns the frame and releases it. Run
// returns nil when ctx ends and io.EOF when the source ended. Failures do not
// end Run: they are logged, shown in Status and answered by reopening.
func (c *Camera) Run(ctx context.Context, deliver func(*frame.Frame)) error {
	failures := 0 // consecutive connections that failed without a frame
	for {
		delivered, err := c.connection(ctx, deliver)
		switch {
		case ctx.Err() != nil:
			c.update(func(s *CameraStatus) { s.State = StateStopped; s.FPS = 0 })
			return nil
		case errors.Is(err, io.EOF):
			c.update(func(s *CameraStatus) { s.State = StateEnded; s.FPS = 0 })
			return io.EOF
		}
		if delivered {
			failures = 0
		}
		wait := c.cfg.Reconnect.delay(failures, c.random)
		failures++
		c.update(func(s *CameraStatus) {
			s.State = StateReconnecting
			s.LastError = err.Error()
			s.FPS = 0
		}, "retry_in", wait)
		if !c.sleep(ctx, wait) {
			continue // ctx ended: the next connection returns at once
		}
		c.update(func(s *CameraStatus) { s.Reconnects++ })
	}
}

// connection opens the source, streams from it until it fails, stalls, ends
// or ctx ends, and closes it. delivered tells whether any frame got through.
func (c *Camera) connection(ctx context.Context, deliver func(*frame.Frame)) (delivered bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := c.src.Open(ctx); err != nil {
		return false, fmt.Errorf("open camera %q (%s): %w", c.name, c.src, err)
	}
	defer func() {
		if cerr := c.src.Close(); cerr != nil {
			c.log.Warn("close camera source", "source", c.src.String(), "error", cerr)
		}
	}()
	c.fps.reset()
	c.update(func(s *CameraStatus) { s.State = StateConnected }, "source", c.src.String())
	return c.stream(ctx, deliver)
}

type readResult struct {
	f   *frame.Frame
	err error
}

// stream reads on its own goroutine so that the watchdog can notice a Read
// that never returns. The reader is cancelled and waited for before the
// source is closed, so the source is never used from two goroutines at once.
func (c *Camera) stream(ctx context.Context, deliver func(*frame.Frame)) (delivered bool, err error) {
	readCtx, cancel := context.WithCancel(ctx)
	results := make(chan readResult)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		c.readLoop(readCtx, results)
	}()
	defer func() {
		cancel()
		<-readerDone
	}()

	stall := c.clock.NewTimer(c.cfg.StallTimeout)
	defer stall.Stop()
	for {
		select {
		case <-ctx.Done():
			return delivered, ctx.Err()
		case <-stall.C():
			err := fmt.Errorf("read camera %q (%s): no frame for %s: %w", c.name, c.src, c.cfg.StallTimeout, ErrStalled)
			// Say so now: a read stuck in C may take a while to come back.
			c.update(func(s *CameraStatus) { s.State = StateReconnecting; s.LastError = err.Error(); s.FPS = 0 })
			return delivered, err
		case r := <-results:
			if r.err != nil {
				if errors.Is(r.err, io.EOF) {
					return delivered, r.err
				}
				return delivered, fmt.Errorf("read camera %q (%s): %w", c.name, c.src, r.err)
			}
			f, err := c.prepare(r.f)
			if err != nil {
				return delivered, fmt.Errorf("orient camera %q frame: %w", c.name, err)
			}
			deliver(f)
			delivered = true
			stall.Reset(c.cfg.StallTimeout) // a slow consumer is not a stalled camera
		}
	}
}

func (c *Camera) readLoop(ctx context.Context, results chan<- readResult) {
	for {
		f, err := c.src.Read(ctx)
		if f != nil {
			// The source's own time is nearer the exposure than the
			// moment the frame reached us; without one, that moment.
			f.CapturedAt = f.SourceTime
			if f.CapturedAt.IsZero() {
				f.CapturedAt = c.clock.Now()
			}
		}
		select {
		case results <- readResult{f, err}:
		case <-ctx.Done():
			f.Release()
			return
		}
		if err != nil {
			return
		}
	}
}

// prepare numbers, orients and accounts for a frame read from the source.
func (c *Camera) prepare(f *frame.Frame) (*frame.Frame, error) {
	if !c.orient.identity() {
		w, h, err := c.orient.outputSize(f.Width, f.Height)
		if err != nil {
			f.Release()
			return nil, err
		}
		out := c.pool.Get(w, h, w*3)
		if err := c.orient.apply(out, f); err != nil {
			f.Release()
			out.Release()
			return nil, err
		}
		out.PartID, out.CapturedAt, out.Truth = f.PartID, f.CapturedAt, f.Truth
		out.Orient = c.orient.frameOrientation(f.Width, f.Height)
		f.Release()
		f = out
	}
	c.seq++
	f.Camera, f.Seq = c.name, c.seq
	fps := c.fps.tick(f.CapturedAt)
	c.mu.Lock()
	c.status.Frames++
	c.status.LastFrame = f.CapturedAt
	c.status.FPS = fps
	c.mu.Unlock()
	return f, nil
}

// sleep waits for d on the camera's clock; false if ctx ended first.
func (c *Camera) sleep(ctx context.Context, d time.Duration) bool {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// update changes the status and logs when the state changed.
func (c *Camera) update(change func(*CameraStatus), logArgs ...any) {
	c.mu.Lock()
	before := c.status.State
	change(&c.status)
	s := c.status
	c.mu.Unlock()
	if s.State == before {
		return
	}
	args := append([]any{"state", s.State, "previous", before, "reconnects", s.Reconnects, "frames", s.Frames}, logArgs...)
	level := slog.LevelInfo
	if s.State == StateReconnecting {
		level = slog.LevelWarn
		args = append(args, "error", s.LastError)
	}
	c.log.Log(context.Background(), level, "camera state", args...)
}
