package inspect

import (
	"context"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
)

// batch is one buffer of preprocessed frames on its way to the encoder, with
// the MISSED verdicts queued between them, in their cameras' order.
type batch struct {
	pixels []float32 // [capacity,3,H,W]
	items  []item
	frames int // items with a frame: pixels holds frames images
	per    int
}

func newBatch(capacity, size int) *batch {
	per := 3 * size * size
	return &batch{pixels: make([]float32, capacity*per), items: make([]item, 0, capacity), per: per}
}

func (b *batch) reset() { b.items, b.frames = b.items[:0], 0 }

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
		b.reset()
		// Wait for the first frame or MISSED verdict.
		for len(b.items) == 0 {
			// Expire triggers on schedule even when frames never stop
			// coming, so a busy loop does not hold back MISSED verdicts.
			select {
			case now := <-expiry.C:
				l.expireTriggers(now)
			default:
			}
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
			l.markIdle(free)
		}
		// A batch of MISSED verdicts alone goes at once.
		if b.frames > 0 {
			size, wait := l.Batching()
			timer.Reset(wait)
		gather:
			for b.frames < size {
				if l.fill(b) {
					continue
				}
				select {
				case <-ctx.Done():
					break gather
				case <-l.ready:
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		out <- b
	}
}

// fill moves queued frames and MISSED verdicts into b until it holds a
// batch of frames or nothing is queued. It reports whether it added any.
func (l *Loop) fill(b *batch) bool {
	added := false
	size, _ := l.Batching()
	for b.frames < size {
		it, ok := l.popNext()
		if !ok {
			break
		}
		added = true
		if it.missed != nil {
			b.items = append(b.items, it)
			continue
		}
		f := it.frame
		slot := b.pixels[b.frames*b.per : (b.frames+1)*b.per]
		start := time.Now()
		err := l.pre.BGR(f.Pix, f.Width, f.Height, f.Stride, slot)
		l.Preprocess.Observe(time.Since(start))
		if err != nil {
			in := l.intakes[f.Camera]
			l.log.Error("preprocess failed", "camera", f.Camera, "seq", f.Seq, "err", err)
			if !it.triggeredAt.IsZero() {
				v := in.missed(trigger{partID: it.partID, at: it.triggeredAt}, f.Seq, "preprocess: "+err.Error())
				b.items = append(b.items, item{missed: &v})
			}
			f.Release()
			continue
		}
		b.items = append(b.items, it)
		b.frames++
	}
	return added
}

func (l *Loop) expireTriggers(now time.Time) {
	expired := false
	for _, in := range l.order {
		expired = in.expire(now) || expired
	}
	if expired {
		l.wake()
	}
}

// shutdown stops intake, turns waiting triggers into MISSED verdicts and
// sends what is still queued, in order.
func (l *Loop) shutdown(b *batch, out chan<- *batch) {
	l.closeMu.Lock()
	l.closed = true
	l.closeMu.Unlock()
	for _, in := range l.order {
		in.close("the appliance is shutting down")
	}
	for {
		b.reset()
		l.fill(b)
		if len(b.items) == 0 {
			break
		}
		out <- b
		b = newBatch(l.opts.BatchSize, l.opts.ImageSize)
	}
}

// infer runs the encoder on each batch, scores each frame and dispatches the
// verdicts, MISSED ones in their place, then hands the buffer back. It is
// the only goroutine that dispatches, so each camera's verdicts reach the
// sinks in the order the camera's queue held them.
func (l *Loop) infer(in <-chan *batch, free chan<- *batch) {
	for b := range in {
		n := b.frames
		j := l.judges.Load()
		var emb []float32
		var patches *Patches
		var err error
		done := time.Now()
		if n > 0 {
			start := time.Now()
			emb, patches, err = l.run(b, j.detectors)
			done = time.Now()
			l.Inference.Observe(done.Sub(start))
			l.Batches.Inc()
		}
		scorers := j.scorers
		row := 0
		for i, it := range b.items {
			if it.missed != nil {
				l.dispatch(Result{Verdict: *it.missed})
				b.items[i] = item{}
				continue
			}
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
				emb := append([]float32(nil), emb[row*dim:(row+1)*dim]...)
				c := defects.Capture{Camera: f.Camera, Seq: f.Seq, PartID: it.partID, CapturedAt: f.CapturedAt, Truth: f.Truth,
					TriggeredAt: it.triggeredAt, SharedFrame: it.shared}
				v = scorer.NewVerdict(c, scorer.Score(emb), emb, done)
				v.Source = defects.SourceLocal
				if det := j.detectors[f.Camera]; det != nil {
					l.anomaly(&v, det, patches, row, n, f)
				}
			}
			row++
			if v.Outcome == defects.Missed {
				in.stats.Missed.Inc()
			} else {
				in.stats.Inspected.Inc()
			}
			in.stats.Latency.Observe(v.Latency)
			l.dispatch(Result{Verdict: v, Frame: f})
			f.Release()
			b.items[i] = item{}
		}
		if err != nil {
			l.log.Error("inference failed", "frames", n, "err", err)
		}
		l.markBatchDone()
		select {
		case free <- b:
		default: // a buffer made for the shutdown flush
		}
	}
}

// run encodes a batch's frames: with the patch outputs of the same run when
// a frame's camera has an anomaly detector and the encoder can give them.
func (l *Loop) run(b *batch, dets Detectors) ([]float32, *Patches, error) {
	n := b.frames
	enc := l.embed.Load().Embedder
	if pe, ok := enc.(PatchEmbedder); ok && b.wantsPatches(dets) {
		emb, p, err := pe.EmbedPatches(b.pixels[:n*b.per], n)
		return emb, &p, err
	}
	emb, err := enc.Embed(b.pixels[:n*b.per], n)
	return emb, nil, err
}

// wantsPatches reports whether a frame of the batch has an anomaly detector.
func (b *batch) wantsPatches(dets Detectors) bool {
	if len(dets) == 0 {
		return false
	}
	for _, it := range b.items {
		if it.frame != nil && dets[it.frame.Camera] != nil {
			return true
		}
	}
	return false
}

// anomaly adds frame f's anomaly fields to its verdict and applies the
// anomaly rule. A frame whose map cannot be made keeps its image-level
// verdict: the line is never held up for the map.
func (l *Loop) anomaly(v *defects.Verdict, det *AnomalyDetector, p *Patches, row, n int, f *frame.Frame) {
	if p == nil {
		l.AnomalyErrs.Inc()
		if !l.noPatchesLogged {
			l.noPatchesLogged = true
			l.log.Error("anomaly detection is on but the vision encoder gives no patch outputs; verdicts keep image-level scoring", "camera", f.Camera)
		}
		return
	}
	a, err := det.inspect(*p, row, n, f, l.geometry)
	if err != nil {
		l.AnomalyErrs.Inc()
		l.log.Error("anomaly map failed; the verdict keeps image-level scoring", "camera", f.Camera, "seq", f.Seq, "err", err)
		return
	}
	v.ApplyAnomaly(a)
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
