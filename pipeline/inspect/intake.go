package inspect

import (
	"fmt"
	"sync"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/metrics"
)

// item is a frame accepted for inspection, with the trigger it serves.
type item struct {
	frame       *frame.Frame
	partID      string
	triggeredAt time.Time // zero in free-run
}

type trigger struct {
	partID string
	at     time.Time
}

// historyLen is how many recent frames a triggered camera keeps, so a trigger
// that arrives after its frame (network latency) still gets the first frame
// captured at or after its time.
const historyLen = 4

// maxPendingTriggers bounds the triggers waiting for a frame.
const maxPendingTriggers = 256

// intake is one camera's queue: what Submit and Trigger feed and the batcher
// drains.
type intake struct {
	opts  CameraOptions
	stats *CameraStats

	mu           sync.Mutex
	queue        []item // FIFO, at most opts.Queue
	pending      []trigger
	history      []*frame.Frame // triggered: recent frames, oldest first, each retained
	lastAccepted time.Time
}

// CameraStats are one camera's counters.
type CameraStats struct {
	Frames     metrics.Counter // delivered by the camera
	Skipped    metrics.Counter // not inspected: free-run rate cap, or no trigger waiting
	Dropped    metrics.Counter // free-run frames dropped because inference fell behind
	Triggers   metrics.Counter
	Missed     metrics.Counter // triggers that became MISSED verdicts
	Inspected  metrics.Counter
	QueueDepth metrics.Gauge
	Latency    metrics.Histogram // capture to verdict
}

func newIntake(o CameraOptions) *intake {
	if o.Queue <= 0 {
		o.Queue = 8
	}
	return &intake{opts: o, stats: &CameraStats{}}
}

// submit takes a frame from the camera. It returns the MISSED verdicts of
// triggers it could not serve, for the caller to publish.
func (in *intake) submit(f *frame.Frame) (missed []defects.Verdict) {
	in.stats.Frames.Inc()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.opts.Mode == Triggered {
		missed = in.matchTriggers(f)
		in.remember(f)
		return missed
	}
	if in.opts.Rate > 0 && !in.lastAccepted.IsZero() &&
		f.CapturedAt.Sub(in.lastAccepted) < time.Duration(float64(time.Second)/in.opts.Rate) {
		in.stats.Skipped.Inc()
		f.Release()
		return nil
	}
	in.lastAccepted = f.CapturedAt
	if len(in.queue) >= in.opts.Queue {
		in.queue[0].frame.Release()
		in.queue = append(in.queue[:0], in.queue[1:]...)
		in.stats.Dropped.Inc()
	}
	in.queue = append(in.queue, item{frame: f})
	in.stats.QueueDepth.Set(int64(len(in.queue)))
	return nil
}

// matchTriggers gives f to every pending trigger it satisfies. Called with mu held.
func (in *intake) matchTriggers(f *frame.Frame) (missed []defects.Verdict) {
	served := 0
	for _, t := range in.pending {
		if f.CapturedAt.Before(t.at) {
			break // pending is in time order
		}
		served++
		if v, ok := in.enqueueTriggered(f, t); !ok {
			missed = append(missed, v)
		}
	}
	in.pending = append(in.pending[:0], in.pending[served:]...)
	return missed
}

// enqueueTriggered queues f for trigger t, or returns the MISSED verdict when
// the queue is full. Called with mu held.
func (in *intake) enqueueTriggered(f *frame.Frame, t trigger) (defects.Verdict, bool) {
	if len(in.queue) >= in.opts.Queue {
		return in.missed(t, f.Seq, "inference queue full"), false
	}
	f.Retain()
	in.queue = append(in.queue, item{frame: f, partID: t.partID, triggeredAt: t.at})
	in.stats.QueueDepth.Set(int64(len(in.queue)))
	return defects.Verdict{}, true
}

// remember keeps f in the recent-frame history (which holds its own
// reference) and drops the submitter's reference. Called with mu held.
func (in *intake) remember(f *frame.Frame) {
	if len(in.history) == historyLen {
		in.history[0].Release()
		in.history = append(in.history[:0], in.history[1:]...)
	}
	in.history = append(in.history, f) // the submitter's reference moves here
	if len(in.pending) == 0 {
		in.stats.Skipped.Inc()
	}
}

// trigger registers a trigger; a recent frame may serve it at once.
func (in *intake) trigger(partID string, at time.Time) (missed []defects.Verdict, err error) {
	if in.opts.Mode != Triggered {
		return nil, fmt.Errorf("camera %q runs free (mode %s): it takes no triggers", in.opts.ID, in.opts.Mode)
	}
	in.stats.Triggers.Inc()
	t := trigger{partID: partID, at: at}
	in.mu.Lock()
	defer in.mu.Unlock()
	// Triggers are served in time order; one older than those waiting is
	// served from history or queued in its place.
	if len(in.pending) == 0 {
		for _, f := range in.history {
			if !f.CapturedAt.Before(at) {
				if v, ok := in.enqueueTriggered(f, t); !ok {
					return []defects.Verdict{v}, nil
				}
				return nil, nil
			}
		}
	}
	if len(in.pending) >= maxPendingTriggers {
		return []defects.Verdict{in.missed(t, 0, "too many triggers waiting for a frame")}, nil
	}
	i := len(in.pending)
	for i > 0 && in.pending[i-1].at.After(at) {
		i--
	}
	in.pending = append(in.pending, trigger{})
	copy(in.pending[i+1:], in.pending[i:])
	in.pending[i] = t
	return nil, nil
}

// expire turns triggers older than the timeout into MISSED verdicts.
func (in *intake) expire(now time.Time) (missed []defects.Verdict) {
	if in.opts.Mode != Triggered || in.opts.TriggerTimeout <= 0 {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, t := range in.pending {
		if now.Sub(t.at) < in.opts.TriggerTimeout {
			break
		}
		missed = append(missed, in.missed(t, 0, fmt.Sprintf("no frame within %s of the trigger", in.opts.TriggerTimeout)))
		n++
	}
	in.pending = append(in.pending[:0], in.pending[n:]...)
	return missed
}

// pop takes the oldest queued item.
func (in *intake) pop() (item, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.queue) == 0 {
		return item{}, false
	}
	it := in.queue[0]
	in.queue = append(in.queue[:0], in.queue[1:]...)
	in.stats.QueueDepth.Set(int64(len(in.queue)))
	return it, true
}

// close releases held frames and turns waiting triggers into MISSED verdicts.
func (in *intake) close(reason string) (missed []defects.Verdict) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, t := range in.pending {
		missed = append(missed, in.missed(t, 0, reason))
	}
	in.pending = nil
	for _, f := range in.history {
		f.Release()
	}
	in.history = nil
	return missed
}

func (in *intake) missed(t trigger, seq uint64, reason string) defects.Verdict {
	in.stats.Missed.Inc()
	action := in.opts.MissedAction
	if action == "" {
		action = defects.ActionReject
	}
	return defects.MissedVerdict(in.opts.ID, seq, t.partID, t.at, time.Now(), action, reason)
}
