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
	shared      bool             // another trigger was given the same frame
	missed      *defects.Verdict // set for a MISSED verdict (no frame)
	// row is the frame's first image in its batch, and rows how many
	// (one per region, else one).
	row, rows int
}

type trigger struct {
	partID string
	at     time.Time
	// nearest: at is the PLC's time of the part, and the frame captured
	// nearest to it within the camera's window is judged; else the first
	// frame captured at or after at (the trigger's arrival).
	nearest bool
	// before is, for a nearest trigger waiting for a later frame, the
	// newest frame captured before at (retained), nil for none.
	before *frame.Frame
}

// DefaultTriggerWindow is how far from the PLC's time a frame may be
// captured and still be judged for the part, unless a camera says.
const DefaultTriggerWindow = 200 * time.Millisecond

// A triggered camera keeps its recent frames, so a trigger that arrives
// after its frame (network latency) is still served: at least
// minHistory frames, and the frames of the last two trigger windows, at
// most maxHistory.
const (
	minHistory = 4
	maxHistory = 64
)

// sharedMemory is how many recently judged frames a camera remembers to
// tell when two triggers get the same frame.
const sharedMemory = 64

// maxPendingTriggers bounds the triggers waiting for a frame.
const maxPendingTriggers = 256

// intake is one camera's queue: what Submit and Trigger feed and the batcher
// drains.
type intake struct {
	opts  CameraOptions
	stats *CameraStats
	// preprocessErrs counts frames that could not be preprocessed; the
	// collector alone touches it.
	preprocessErrs uint64

	mu           sync.Mutex
	queue        []item // FIFO: at most opts.Queue frames, plus MISSED verdicts
	frames       int    // frames in queue
	pending      []trigger
	history      []*frame.Frame // triggered: recent frames, oldest first, each retained
	judged       []uint64       // seqs of the frames last given to triggers, oldest first
	lastAccepted time.Time
}

// CameraStats are one camera's counters.
type CameraStats struct {
	Frames   metrics.Counter // delivered by the camera
	Skipped  metrics.Counter // not inspected: free-run rate cap, or no trigger waiting
	Dropped  metrics.Counter // free-run frames dropped because inference fell behind
	Triggers metrics.Counter
	Missed   metrics.Counter // triggers that became MISSED verdicts
	// SharedFrames counts triggers given a frame another trigger was
	// given too: parts judged on one picture.
	SharedFrames metrics.Counter
	// LastShared is when the last shared frame was given, in Unix
	// nanoseconds; 0 before any.
	LastShared metrics.Gauge
	Inspected  metrics.Counter
	QueueDepth metrics.Gauge
	Latency    metrics.Histogram // capture to verdict
}

func newIntake(o CameraOptions) *intake {
	if o.Queue <= 0 {
		o.Queue = 8
	}
	if o.TriggerWindow <= 0 {
		o.TriggerWindow = DefaultTriggerWindow
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
		if t.nearest {
			in.serveNearest(t, f)
			continue
		}
		in.enqueueTriggered(f, t)
	}
	in.pending = append(in.pending[:0], in.pending[served:]...)
}

// serveNearest judges, for a nearest trigger, the nearer to its time of
// its frame before and after (either may be nil), if within the window;
// else its MISSED verdict. It releases the trigger's before frame. Called
// with mu held.
func (in *intake) serveNearest(t trigger, after *frame.Frame) {
	best := after
	if t.before != nil && (best == nil || t.at.Sub(t.before.CapturedAt) <= best.CapturedAt.Sub(t.at)) {
		best = t.before
	}
	switch {
	case best == nil:
		in.pushMissed(in.missed(t, 0, fmt.Sprintf("no frame captured within %s of the PLC's time", in.opts.TriggerWindow)))
	case absDuration(best.CapturedAt.Sub(t.at)) > in.opts.TriggerWindow:
		in.pushMissed(in.missed(t, best.Seq, fmt.Sprintf("the nearest frame was captured %s from the PLC's time, more than trigger_window %s",
			best.CapturedAt.Sub(t.at).Round(time.Millisecond), in.opts.TriggerWindow)))
	default:
		in.enqueueTriggered(best, t)
	}
	if t.before != nil {
		t.before.Release()
	}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// enqueueTriggered queues f for trigger t, or t's MISSED verdict when the
// queue is full. A frame another trigger was given already is marked
// shared on both, when the other still waits. Called with mu held.
func (in *intake) enqueueTriggered(f *frame.Frame, t trigger) {
	if in.frames >= in.opts.Queue {
		in.pushMissed(in.missed(t, f.Seq, "inference queue full"))
		return
	}
	shared := false
	for _, seq := range in.judged {
		if seq == f.Seq {
			shared = true
			break
		}
	}
	if shared {
		in.stats.SharedFrames.Inc()
		in.stats.LastShared.Set(time.Now().UnixNano())
		for i := range in.queue {
			if fr := in.queue[i].frame; fr != nil && fr.Seq == f.Seq {
				in.queue[i].shared = true
			}
		}
	} else {
		if len(in.judged) == sharedMemory {
			in.judged = append(in.judged[:0], in.judged[1:]...)
		}
		in.judged = append(in.judged, f.Seq)
	}
	f.Retain()
	in.push(item{frame: f, partID: t.partID, triggeredAt: t.at, shared: shared})
}

// remember keeps f in the recent-frame history (which holds its own
// reference) and drops the submitter's reference. Called with mu held.
func (in *intake) remember(f *frame.Frame) {
	in.history = append(in.history, f) // the submitter's reference moves here
	span := 2 * in.opts.TriggerWindow
	for len(in.history) > maxHistory ||
		(len(in.history) > minHistory && f.CapturedAt.Sub(in.history[0].CapturedAt) > span) {
		in.history[0].Release()
		in.history = append(in.history[:0], in.history[1:]...)
	}
	if len(in.pending) == 0 {
		in.stats.Skipped.Inc()
	}
}

// trigger registers a trigger; a recent frame may serve it at once. With
// nearest, at is the PLC's time of the part and the frame captured nearest
// to it within the window is judged; else the first frame captured at or
// after at.
func (in *intake) trigger(partID string, at time.Time, nearest bool) error {
	if in.opts.Mode != Triggered {
		return fmt.Errorf("camera %q runs free (mode %s): it takes no triggers", in.opts.ID, in.opts.Mode)
	}
	in.stats.Triggers.Inc()
	t := trigger{partID: partID, at: at, nearest: nearest}
	in.mu.Lock()
	defer in.mu.Unlock()
	if nearest {
		// A frame of the history captured at or after at: no later frame
		// can be nearer, so the choice is made now.
		var before *frame.Frame
		for _, f := range in.history {
			if !f.CapturedAt.Before(at) {
				if before != nil {
					before.Retain()
				}
				t.before = before
				in.serveNearest(t, f)
				return nil
			}
			before = f
		}
		if before != nil {
			before.Retain()
			t.before = before
		}
	} else if len(in.pending) == 0 {
		// Triggers are served in time order; one older than those waiting
		// is served from history or queued in its place.
		for _, f := range in.history {
			if !f.CapturedAt.Before(at) {
				in.enqueueTriggered(f, t)
				return nil
			}
		}
	}
	if len(in.pending) >= maxPendingTriggers {
		if t.before != nil {
			t.before.Release()
		}
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
	if in.opts.Mode != Triggered {
		return false
	}
	nearestWait := 2 * in.opts.TriggerWindow
	if in.opts.TriggerTimeout > 0 {
		nearestWait = min(nearestWait, in.opts.TriggerTimeout)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	// A nearest trigger waits for a later frame until twice its window has
	// passed (the second for the camera's delivery), then takes the frame
	// before it, if near enough; any trigger gives up at the timeout.
	kept := in.pending[:0]
	n := 0
	for _, t := range in.pending {
		switch {
		case t.nearest && now.Sub(t.at) >= nearestWait:
			in.serveNearest(t, nil)
			n++
		case !t.nearest && in.opts.TriggerTimeout > 0 && now.Sub(t.at) >= in.opts.TriggerTimeout:
			in.pushMissed(in.missed(t, 0, fmt.Sprintf("no frame within %s of the trigger", in.opts.TriggerTimeout)))
			n++
		default:
			kept = append(kept, t)
		}
	}
	in.pending = kept
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
		if t.before != nil {
			t.before.Release()
		}
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
	v := defects.MissedVerdict(in.opts.ID, seq, t.partID, t.at, time.Now(), action, reason)
	v.TriggeredAt = t.at
	return v
}
