package inspect

import (
	"context"
	"time"

	"github.com/linesight/linesight/defects"
)

// batch is one buffer of preprocessed frames on its way to the encoder.
type batch struct {
	pixels []float32 // [capacity,3,H,W]
	items  []item
	per    int
}

func newBatch(capacity, size int) *batch {
	per := 3 * size * size
	return &batch{pixels: make([]float32, capacity*per), items: make([]item, 0, capacity), per: per}
}

// collect fills batches: it waits for a first frame, then takes frames until
// the batch is full or BatchWait has passed since that first frame.
// Preprocessing happens here, so it overlaps the previous batch's inference.
// On cancellation it stops intake, flushes what is queued, and closes out.
func (l *Loop) collect(ctx context.Context, out chan<- *batch, free chan *batch) {
	defer close(out)
	expiry := time.NewTicker(100 * time.Millisecond)
	defer expiry.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		b := <-free
		b.items = b.items[:0]
		// Wait for the first frame.
		for len(b.items) == 0 {
			// Expire triggers on schedule even when frames never stop
			// coming, so a busy loop does not hold back MISSED verdicts.
			select {
			case now := <-expiry.C:
				l.expireTriggers(now)
			default:
			}
			l.dispatchMissed()
			if l.fill(b) {
				break
			}
			select {
			case <-ctx.Done():
				l.shutdown(b, out)
				return
			case <-l.ready:
			case now := <-expiry.C:
				l.expireTriggers(now)
			}
		}
		size, wait := l.Batching()
		timer.Reset(wait)
	gather:
		for len(b.items) < size {
			if l.fill(b) {
				continue
			}
			l.dispatchMissed()
			select {
			case <-ctx.Done():
				break gather
			case <-l.ready:
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		out <- b
	}
}

// fill moves queued frames into b until it is full or nothing is queued.
// It reports whether it added any.
func (l *Loop) fill(b *batch) bool {
	added := false
	size, _ := l.Batching()
	for len(b.items) < size {
		it, ok := l.popNext()
		if !ok {
			break
		}
		f := it.frame
		slot := b.pixels[len(b.items)*b.per : (len(b.items)+1)*b.per]
		start := time.Now()
		err := l.pre.BGR(f.Pix, f.Width, f.Height, f.Stride, slot)
		l.Preprocess.Observe(time.Since(start))
		if err != nil {
			in := l.intakes[f.Camera]
			l.log.Error("preprocess failed", "camera", f.Camera, "seq", f.Seq, "err", err)
			if !it.triggeredAt.IsZero() {
				l.reportMissed([]defects.Verdict{in.missed(trigger{it.partID, it.triggeredAt}, f.Seq, "preprocess: "+err.Error())})
			}
			f.Release()
			continue
		}
		b.items = append(b.items, it)
		added = true
	}
	return added
}

func (l *Loop) expireTriggers(now time.Time) {
	for _, in := range l.order {
		l.reportMissed(in.expire(now))
	}
	l.dispatchMissed()
}

// shutdown stops intake and sends what is still queued for inspection.
func (l *Loop) shutdown(b *batch, out chan<- *batch) {
	l.closeMu.Lock()
	l.closed = true
	l.closeMu.Unlock()
	for {
		b.items = b.items[:0]
		l.fill(b)
		if len(b.items) == 0 {
			break
		}
		out <- b
		b = newBatch(cap(b.items), l.opts.ImageSize)
	}
	for _, in := range l.order {
		l.reportMissed(in.close("the appliance is shutting down"))
	}
	l.dispatchMissed()
}

// infer runs the encoder on each batch, scores each frame and dispatches the
// verdicts, then hands the buffer back.
func (l *Loop) infer(in <-chan *batch, free chan<- *batch) {
	for b := range in {
		n := len(b.items)
		start := time.Now()
		emb, err := l.embed.Load().Embed(b.pixels[:n*b.per], n)
		done := time.Now()
		l.Inference.Observe(done.Sub(start))
		l.Batches.Inc()
		scorers := *l.scorers.Load()
		for i, it := range b.items {
			f := it.frame
			in := l.intakes[f.Camera]
			var v defects.Verdict
			scorer := scorers[f.Camera]
			switch {
			case err != nil:
				l.InferenceErrs.Inc()
				v = defects.MissedVerdict(f.Camera, f.Seq, it.partID, f.CapturedAt, done, in.opts.MissedAction, "inference failed: "+err.Error())
			case scorer == nil:
				v = defects.MissedVerdict(f.Camera, f.Seq, it.partID, f.CapturedAt, done, in.opts.MissedAction, "no defect classes for this camera")
			default:
				dim := len(emb) / n
				row := append([]float32(nil), emb[i*dim:(i+1)*dim]...)
				v = scorer.Verdict(f, row, done)
				v.PartID = it.partID
				v.Source = defects.SourceLocal
			}
			if v.Outcome == defects.Missed {
				in.stats.Missed.Inc()
			} else {
				in.stats.Inspected.Inc()
			}
			v.Latency = done.Sub(f.CapturedAt)
			in.stats.Latency.Observe(v.Latency)
			l.dispatch(Result{Verdict: v, Frame: f})
			f.Release()
			b.items[i] = item{}
		}
		if err != nil {
			l.log.Error("inference failed", "frames", n, "err", err)
		}
		select {
		case free <- b:
		default: // a buffer made for the shutdown flush
		}
	}
}

// dispatch gives a result to every sink, in order, through the resolver
// when there is one.
func (l *Loop) dispatch(r Result) {
	if l.resolving != nil && l.resolving.offer(r) {
		return
	}
	l.fanOut(r)
}

// fanOut gives a result to every sink.
func (l *Loop) fanOut(r Result) {
	for _, s := range l.sinks {
		s.offer(r)
	}
}
