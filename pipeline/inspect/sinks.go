package inspect

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/linesight/linesight/pipeline/metrics"
)

// SinkStats are one sink's counters.
type SinkStats struct {
	Written    metrics.Counter
	Dropped    metrics.Counter // queue full on a lossy sink
	Errors     metrics.Counter
	QueueDepth metrics.Gauge
}

// sinkRunner feeds one sink from its own queue, so a slow sink holds up
// neither capture nor the other sinks.
type sinkRunner struct {
	sink  Sink
	opts  SinkOptions
	stats *SinkStats
	log   *slog.Logger

	mu      sync.Mutex
	changed *sync.Cond // an item was added or taken, or the queue closed
	waiting []*Result  // oldest first, at most opts.Queue
	// perCamera counts the waiting results of each camera, so a full lossy
	// queue finds what to drop without a pass over every camera's entries.
	perCamera map[string]int
	closed    bool
}

func newSinkRunner(s Sink, o SinkOptions, log *slog.Logger) *sinkRunner {
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	r := &sinkRunner{sink: s, opts: o, stats: &SinkStats{}, log: log, perCamera: map[string]int{}}
	r.changed = sync.NewCond(&r.mu)
	return r
}

// offer hands a result to the sink, holding a frame reference for it. A
// lossless sink waits for room. A lossy one shows the line's state (the
// live views, the PLC board), so when it falls behind it drops the oldest
// waiting result that a newer one of the same camera supersedes: each
// camera's newest verdict gets through (as long as the queue is longer than
// the line has cameras), and a triggered camera's last part, which may have
// no verdict after it, is not hidden behind a busier camera's.
func (r *sinkRunner) offer(res Result) {
	res.Frame.Retain()
	r.mu.Lock()
	for r.opts.Lossless && len(r.waiting) >= r.opts.Queue && !r.closed {
		r.changed.Wait()
	}
	if r.closed {
		r.mu.Unlock()
		panic("inspect: a verdict offered to sink " + r.sink.Name() + " after the loop closed it")
	}
	r.waiting = append(r.waiting, &res)
	r.perCamera[res.Verdict.Camera]++
	var dropped *Result
	if len(r.waiting) > r.opts.Queue {
		i := r.superseded()
		dropped = r.waiting[i]
		r.waiting = slices.Delete(r.waiting, i, i+1)
		r.left(dropped)
	}
	r.stats.QueueDepth.Set(int64(len(r.waiting)))
	r.changed.Broadcast()
	r.mu.Unlock()
	if dropped != nil {
		r.stats.Dropped.Inc()
		dropped.Frame.Release()
	}
}

// superseded is the index of the oldest waiting result with a newer one of
// the same camera after it, or of the oldest when every camera has one.
func (r *sinkRunner) superseded() int {
	for i, w := range r.waiting {
		if r.perCamera[w.Verdict.Camera] > 1 {
			return i
		}
	}
	return 0
}

// left takes a result that left the queue out of its camera's count.
func (r *sinkRunner) left(res *Result) {
	if r.perCamera[res.Verdict.Camera]--; r.perCamera[res.Verdict.Camera] == 0 {
		delete(r.perCamera, res.Verdict.Camera)
	}
}

// next takes the oldest waiting result; ok is false once the queue is
// closed and empty.
func (r *sinkRunner) next() (res *Result, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.waiting) == 0 && !r.closed {
		r.changed.Wait()
	}
	if len(r.waiting) == 0 {
		return nil, false
	}
	res = r.waiting[0]
	r.waiting[0] = nil
	r.waiting = r.waiting[1:]
	r.left(res)
	r.stats.QueueDepth.Set(int64(len(r.waiting)))
	r.changed.Broadcast()
	return res, true
}

// close lets run write what is waiting, then return.
func (r *sinkRunner) close() {
	r.mu.Lock()
	r.closed = true
	r.changed.Broadcast()
	r.mu.Unlock()
}

// run writes results until the queue is closed and empty. Writes use a
// context that outlives the loop's, so the drain at shutdown completes.
func (r *sinkRunner) run(wg *sync.WaitGroup) {
	defer wg.Done()
	ctx := context.Background()
	for {
		res, ok := r.next()
		if !ok {
			return
		}
		if err := r.sink.Write(ctx, res); err != nil {
			r.stats.Errors.Inc()
			r.log.Error("sink write failed", "sink", r.sink.Name(), "camera", res.Verdict.Camera, "seq", res.Verdict.Seq, "err", err)
		} else {
			r.stats.Written.Inc()
		}
		res.Frame.Release()
	}
}
