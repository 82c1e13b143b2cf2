package synthetic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
)

// Config describes a synthetic line.
type Config struct {
	Width, Height int
	// FPS paces Read; 0 delivers frames as fast as they are read.
	FPS float64
	// Seed makes the line reproducible: frame i is the same for a given seed
	// and size, whatever came before it.
	Seed int64
	// DefectRate is the fraction of parts with a defect, 0 to 1.
	DefectRate float64
	// PartTypes and Defects restrict the mix; empty means all of them.
	PartTypes []string
	Defects   []string
	// Frames ends the line with io.EOF after that many frames; 0 runs forever.
	Frames uint64
}

// Validate checks the configuration; field names are those of the YAML
// source block.
func (c *Config) Validate() error {
	var errs []error
	if c.Width < 16 || c.Height < 16 {
		errs = append(errs, fmt.Errorf("width, height: %dx%d is too small (at least 16x16)", c.Width, c.Height))
	}
	if c.FPS < 0 {
		errs = append(errs, fmt.Errorf("fps: %g is negative (0 means as fast as possible)", c.FPS))
	}
	if c.DefectRate < 0 || c.DefectRate > 1 {
		errs = append(errs, fmt.Errorf("defect_rate: %g is outside 0..1", c.DefectRate))
	}
	for i, p := range c.PartTypes {
		if _, err := partIndex(p); err != nil {
			errs = append(errs, fmt.Errorf("part_types[%d]: %w", i, err))
		}
	}
	for i, d := range c.Defects {
		if k, err := defectIndex(d); err != nil || k < 0 {
			errs = append(errs, fmt.Errorf("defects[%d]: unknown defect %q (accepted: %v)", i, d, DefectKinds))
		}
	}
	return errors.Join(errs...)
}

// Line is a source of generated frames: one part per frame passing on the
// belt. It has the method set of capture.Source.
type Line struct {
	cfg     Config
	camera  string
	pool    *frame.Pool
	render  *renderer
	pcg     rand.PCG
	rng     *rand.Rand
	parts   []int
	defects []int
	index   uint64 // frames produced so far

	period time.Duration
	next   time.Time
	timer  *time.Timer
}

// NewLine makes a synthetic line whose frames come from pool.
func NewLine(cfg Config, camera string, pool *frame.Pool) (*Line, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Line{cfg: cfg, camera: camera, pool: pool}
	l.rng = rand.New(&l.pcg)
	for i := range PartTypes {
		if len(cfg.PartTypes) == 0 || contains(cfg.PartTypes, PartTypes[i]) {
			l.parts = append(l.parts, i)
		}
	}
	for i := range DefectKinds {
		if len(cfg.Defects) == 0 || contains(cfg.Defects, DefectKinds[i]) {
			l.defects = append(l.defects, i)
		}
	}
	if cfg.FPS > 0 {
		l.period = time.Duration(float64(time.Second) / cfg.FPS)
	}
	return l, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Open prepares the renderer. The line carries on where it was, so a reopened
// line does not repeat parts.
func (l *Line) Open(ctx context.Context) error {
	if l.render == nil {
		l.render = newRenderer(l.cfg.Width, l.cfg.Height)
	}
	l.next = time.Time{}
	return ctx.Err()
}

// Read renders the next part into a pooled frame, waiting for its turn when
// the line is paced.
func (l *Line) Read(ctx context.Context) (*frame.Frame, error) {
	if l.render == nil {
		return nil, errors.New("read synthetic line: not open")
	}
	if l.cfg.Frames > 0 && l.index >= l.cfg.Frames {
		return nil, io.EOF
	}
	if err := l.pace(ctx); err != nil {
		return nil, err
	}
	w, h := l.cfg.Width, l.cfg.Height
	f := l.pool.Get(w, h, w*3)
	f.Camera = l.camera
	f.Truth = l.Render(l.index, f.Pix, f.Stride)
	f.CapturedAt = time.Now()
	l.index++
	return f, nil
}

// pace waits until the next frame is due.
func (l *Line) pace(ctx context.Context) error {
	if l.period == 0 {
		return ctx.Err()
	}
	now := time.Now()
	if l.next.IsZero() || now.Sub(l.next) > l.period { // start, or fell behind: no burst
		l.next = now
	}
	if wait := l.next.Sub(now); wait > 0 {
		if l.timer == nil {
			l.timer = time.NewTimer(wait)
		} else {
			l.timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			l.timer.Stop()
			return ctx.Err()
		case <-l.timer.C:
		}
	}
	l.next = l.next.Add(l.period)
	return ctx.Err()
}

// Render draws frame index of the line into dst (BGR, the line's size) and
// returns its ground truth (shared, read-only).
func (l *Line) Render(index uint64, dst []byte, stride int) *defects.Truth {
	if l.render == nil {
		l.render = newRenderer(l.cfg.Width, l.cfg.Height)
	}
	l.pcg.Seed(uint64(l.cfg.Seed), index)
	part := l.parts[l.rng.IntN(len(l.parts))]
	defect := -1
	if len(l.defects) > 0 && l.rng.Float64() < l.cfg.DefectRate {
		defect = l.defects[l.rng.IntN(len(l.defects))]
	}
	sc := newScene(l.rng, part, defect, l.cfg.Width, l.cfg.Height)
	l.render.render(dst, stride, &sc)
	return truthFor(part, defect)
}

// Close stops pacing. The line can be opened again.
func (l *Line) Close() error {
	if l.timer != nil {
		l.timer.Stop()
	}
	return nil
}

func (l *Line) String() string {
	return fmt.Sprintf("synthetic line (seed %d, %dx%d)", l.cfg.Seed, l.cfg.Width, l.cfg.Height)
}
