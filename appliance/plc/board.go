package plc

import (
	"context"
	"sync"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

// Counters are a camera's verdicts by outcome since the appliance started.
type Counters struct {
	Pass, Fail, Uncertain, Missed uint64
}

// Total is every verdict counted.
func (c Counters) Total() uint64 { return c.Pass + c.Fail + c.Uncertain + c.Missed }

// Last is a camera's last verdict as the protocols show it.
type Last struct {
	Verdict defects.Verdict
	// ClassIndex is the deciding class's place in its set (0 is the good
	// class), -1 when there is none (MISSED).
	ClassIndex int
	// Count is the camera's verdicts so far: it changes with every verdict,
	// so a PLC sees a new one even when it equals the last.
	Count uint64
}

// Board keeps each camera's last verdict and counters for the protocol
// servers to poll. It is a lossy sink of the inspection loop: a slow
// reader never holds up a verdict, it only reads an older board.
type Board struct {
	mu   sync.RWMutex
	cams map[string]*camBoard
	ids  []string
}

type camBoard struct {
	last     Last
	counters Counters
}

// NewBoard makes a board for the cameras, in their order.
func NewBoard(cameras []string) *Board {
	b := &Board{cams: map[string]*camBoard{}, ids: append([]string(nil), cameras...)}
	for _, id := range cameras {
		b.cams[id] = &camBoard{last: Last{ClassIndex: -1}}
	}
	return b
}

// Cameras are the board's cameras in order.
func (b *Board) Cameras() []string { return b.ids }

// Name names the sink in logs.
func (b *Board) Name() string { return "plc board" }

// SinkOptions: lossy, so a protocol client can never stall the loop.
func (b *Board) SinkOptions() inspect.SinkOptions { return inspect.SinkOptions{Queue: 256} }

// Write records a verdict.
func (b *Board) Write(_ context.Context, r *inspect.Result) error {
	b.Record(r.Verdict)
	return nil
}

// Record puts a verdict on its camera's board; verdicts of unknown cameras
// are ignored.
func (b *Board) Record(v defects.Verdict) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cams[v.Camera]
	if c == nil {
		return
	}
	switch v.Outcome {
	case defects.Pass:
		c.counters.Pass++
	case defects.Fail:
		c.counters.Fail++
	case defects.Uncertain:
		c.counters.Uncertain++
	case defects.Missed:
		c.counters.Missed++
	}
	v.Embedding = nil
	c.last = Last{Verdict: v, ClassIndex: classIndex(v), Count: c.counters.Total()}
}

// classIndex is the deciding class's place among the verdict's scores.
func classIndex(v defects.Verdict) int {
	for i, s := range v.Scores {
		if s.Class == v.Class {
			return i
		}
	}
	return -1
}

// Last returns a camera's last verdict and counters; ok is false for an
// unknown camera. Before any verdict Last.Count is 0.
func (b *Board) Last(camera string) (last Last, counters Counters, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	c := b.cams[camera]
	if c == nil {
		return Last{}, Counters{}, false
	}
	return c.last, c.counters, true
}

// Has reports whether the board has the camera.
func (b *Board) Has(camera string) bool {
	_, ok := b.cams[camera]
	return ok
}
