package inspect

import (
	"context"
	"log/slog"
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
	queue chan *Result
	stats *SinkStats
	log   *slog.Logger
}

func newSinkRunner(s Sink, o SinkOptions, log *slog.Logger) *sinkRunner {
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	return &sinkRunner{sink: s, opts: o, queue: make(chan *Result, o.Queue), stats: &SinkStats{}, log: log}
}

// offer hands a result to the sink, holding a frame reference for it. A
// lossless sink waits for room. A lossy one shows the line's state (the
// live views, the PLC board), so when it falls behind the oldest waiting
// result is dropped: the newest always gets through, and a triggered
// camera's last part is never the one lost.
func (r *sinkRunner) offer(res Result) {
	if res.Frame != nil {
		res.Frame.Retain()
	}
	p := &res
	if r.opts.Lossless {
		r.queue <- p
	} else {
		for queued := false; !queued; {
			select {
			case r.queue <- p:
				queued = true
			default:
				// Full: make room. The sink may take one meanwhile, or
				// another camera's resolver offer, so try again.
				select {
				case old := <-r.queue:
					r.stats.Dropped.Inc()
					old.Frame.Release()
				default:
				}
			}
		}
	}
	r.stats.QueueDepth.Set(int64(len(r.queue)))
}

// run writes results until the queue is closed and empty. Writes use a
// context that outlives the loop's, so the drain at shutdown completes.
func (r *sinkRunner) run(wg *sync.WaitGroup) {
	defer wg.Done()
	ctx := context.Background()
	for res := range r.queue {
		if err := r.sink.Write(ctx, res); err != nil {
			r.stats.Errors.Inc()
			r.log.Error("sink write failed", "sink", r.sink.Name(), "camera", res.Verdict.Camera, "seq", res.Verdict.Seq, "err", err)
		} else {
			r.stats.Written.Inc()
		}
		res.Frame.Release()
		r.stats.QueueDepth.Set(int64(len(r.queue)))
	}
}
