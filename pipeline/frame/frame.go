// Package frame is the unit that flows from a camera to a verdict: the pixels
// of one capture and what is known about it.
package frame

import (
	"github.com/linesight/linesight/defects"
	"sync/atomic"
	"time"
)

// Frame is one captured image. Pix holds 8-bit BGR pixels (OpenCV's order),
// Stride bytes per row. Frames come from a pool: call Release when done so the
// buffer is reused instead of allocated per frame.
type Frame struct {
	Camera     string
	Seq        uint64 // per camera, from 1, never reused while the process runs
	PartID     string // set for triggered captures
	CapturedAt time.Time
	// SourceTime is when the source itself says the frame was taken (a
	// V4L2 buffer's time), already on the appliance's clock; zero when the
	// source gives none. The camera stamps CapturedAt with it when set.
	SourceTime time.Time
	Width      int
	Height     int
	Stride     int
	Pix        []byte
	// Truth is the ground truth of generated frames (the synthetic line); nil
	// for real cameras.
	Truth *defects.Truth
	// Orient is how the camera turned its source image into these pixels,
	// so a place found in the frame can be told in the source's pixels.
	Orient Orientation

	pool *Pool
	refs atomic.Int32
}

// Retain adds a holder: the frame goes back to its pool only when every
// holder has called Release. A frame starts with one holder.
func (f *Frame) Retain() {
	if f != nil {
		f.refs.Add(1)
	}
}

// Release drops a holder; the last one returns the buffer to the pool. The
// caller must not use the frame afterwards.
func (f *Frame) Release() {
	if f == nil || f.pool == nil || f.refs.Add(-1) > 0 {
		return
	}
	p := f.pool
	f.pool = nil
	p.put(f)
}

// Pool recycles frames of one size class, so steady-state capture allocates
// nothing. Safe for concurrent use.
type Pool struct {
	free chan *Frame
}

// NewPool keeps up to n released frames for reuse.
func NewPool(n int) *Pool { return &Pool{free: make(chan *Frame, n)} }

// Get returns a frame whose Pix holds at least height*stride bytes, with its
// metadata cleared.
func (p *Pool) Get(width, height, stride int) *Frame {
	var f *Frame
	select {
	case f = <-p.free:
	default:
		f = &Frame{}
	}
	need := height * stride
	if cap(f.Pix) < need {
		f.Pix = make([]byte, need)
	}
	pix := f.Pix[:need]
	f.Camera, f.Seq, f.PartID, f.CapturedAt, f.SourceTime, f.Truth, f.Orient = "", 0, "", time.Time{}, time.Time{}, nil, Orientation{}
	f.Pix, f.Width, f.Height, f.Stride, f.pool = pix, width, height, stride, p
	f.refs.Store(1)
	return f
}

func (p *Pool) put(f *Frame) {
	select {
	case p.free <- f:
	default: // pool full: let the garbage collector have it
	}
}
