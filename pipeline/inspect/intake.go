package inspect

import (
	"fmt"
	"sync"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/metrics"
)

// item is a frame accepted for inspection, with the trigger it serves, or
// the MISSED verdict of a trigger that could not be served. MISSED verdicts
// wait in their camera's queue like frames, so they never overtake the
// verdicts of the camera's earlier parts.
type item struct {
	frame       *frame.Frame
	partID      string
	triggeredAt time.Time        // zero in free-run
	missed      *defects.Verdict // set for a MISSED verdict (no frame)
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
	queue        []item // FIFO: at most opts.Queue frames, plus MISSED verdicts
	frames       int    // frames in queue
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

// submit takes a frame from the camera.
func (in *intake) submit(f *frame.Frame) {
	in.stats.Frames.Inc()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.opts.Mode == Triggered {
		in.matchTriggers(f)
		in.remember(f)
		return
	}
	if in.opts.Rate > 0 && !in.lastAccepted.IsZero() &&
		f.CapturedAt.Sub(in.lastAccepted) < time.Duration(float64(time.Second)/in.opts.Rate) {
		in.stats.Skipped.Inc()
		f.Release()
		return
	}
	in.lastAccepted = f.CapturedAt
	if in.frames >= in.opts.Queue {
		in.dropOldestFrame()
		in.stats.Dropped.Inc()
	}
	in.push(item{frame: f})
}

// push appends an item to the queue. Called with mu held.
func (in *intake) push(it item) {
	in.queue = append(in.queue, it)
	if it.frame != nil {
		in.frames++
		in.stats.QueueDepth.Set(int64(in.frames))
	}
}

// pushMissed queues a MISSED verdict behind the camera's queued frames.
// Called with mu held.
func (in *intake) pushMissed(v defects.Verdict) { in.push(item{missed: &v}) }

// dropOldestFrame releases the oldest queued frame. Called with mu held.
func (in *intake) dropOldestFrame() {
	for i, it := range in.queue {
		if it.frame != nil {
			it.frame.Release()
			in.queue = append(in.queue[:i], in.queue[i+1:]...)
			in.frames--
			return
		}
	}
}

// matchTriggers gives f to every pending trigger it satisfies. Called with mu held.
func (in *intake) matchTriggers(f *frame.Frame) {
	served := 0
	for _, t := range in.pending {
		if f.CapturedAt.Before(t.at) {
			break // pending is in time order
		}
		served++
		in.enqueueTriggered(f, t)
	}
	in.pending = append(in.pending[:0], in.pending[served:]...)
}

// enqueueTriggered queues f for trigger t, or t's MISSED verdict when the
// queue is full. Called with mu held.
func (in *intake) enqueueTriggered(f *frame.Frame, t trigger) {
	if in.frames >= in.opts.Queue {
		in.pushMissed(in.missed(t, f.Seq, "inference queue full"))
		return
	}
	f.Retain()
	in.push(item{frame: f, partID: t.partID, triggeredAt: t.at})
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
func (in *intake) trigger(partID string, at time.Time) error {
	if in.opts.Mode != Triggered {
		return fmt.Errorf("camera %q runs free (mode %s): it takes no triggers", in.opts.ID, in.opts.Mode)
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
				in.enqueueTriggered(f, t)
				return nil
			}
		}
	}
	if len(in.pending) >= maxPendingTriggers {
		in.pushMissed(in.missed(t, 0, "too many triggers waiting for a frame"))
		return nil
	}
	i := len(in.pending)
	for i > 0 && in.pending[i-1].at.After(at) {
		i--
	}
	in.pending = append(in.pending, trigger{})
	copy(in.pending[i+1:], in.pending[i:])
	in.pending[i] = t
	return nil
}

// expire turns triggers older than the timeout into queued MISSED verdicts
// and reports whether there were any.
func (in *intake) expire(now time.Time) bool {
	if in.opts.Mode != Triggered || in.opts.TriggerTimeout <= 0 {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, t := range in.pending {
		if now.Sub(t.at) < in.opts.TriggerTimeout {
			break
		}
		in.pushMissed(in.missed(t, 0, fmt.Sprintf("no frame within %s of the trigger", in.opts.TriggerTimeout)))
		n++
	}
	in.pending = append(in.pending[:0], in.pending[n:]...)
	return n > 0
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
	if it.frame != nil {
		in.frames--
		in.stats.QueueDepth.Set(int64(in.frames))
	}
	return it, true
}

// close releases the recent-frame history and turns waiting triggers into
// MISSED verdicts, queued behind the frames already accepted.
func (in *intake) close(reason string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, t := range in.pending {
		in.pushMissed(in.missed(t, 0, reason))
	}
	in.pending = nil
	for _, f := range in.history {
		f.Release()
	}
	in.history = nil
}

func (in *intake) missed(t trigger, seq uint64, reason string) defects.Verdict {
	in.stats.Missed.Inc()
	action := in.opts.MissedAction
	if action == "" {
		action = defects.ActionReject
	}
	return defects.MissedVerdict(in.opts.ID, seq, t.partID, t.at, time.Now(), action, reason)
}
