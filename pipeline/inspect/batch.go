package inspect

import (
	"context"
	"fmt"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
)

// batch is one buffer of preprocessed frames on its way to the encoder, with
// the MISSED verdicts queued between them, in their cameras' order.
type batch struct {
	pixels []float32 // [capacity*regions,3,H,W]
	items  []item
	frames int // items with a frame
	rows   int // images in pixels: one per frame, or one per region
	per    int
}

// newBatch holds capacity frames of up to regions images each.
func newBatch(capacity, regions, size int) *batch {
	per := 3 * size * size
	return &batch{pixels: make([]float32, capacity*regions*per), items: make([]item, 0, capacity), per: per}
}

func (b *batch) reset() { b.items, b.frames, b.rows = b.items[:0], 0, 0 }

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
		in := l.intakes[f.Camera]
		start := time.Now()
		rows, err := l.preprocess(f, in.opts.Regions, b.pixels[b.rows*b.per:], b.per)
		l.Preprocess.Observe(time.Since(start))
		if err != nil {
			// A bad region fails every frame of its camera: log the 1st,
			// 2nd, 4th, 8th... so the log says it without filling up.
			in.preprocessErrs++
			if n := in.preprocessErrs; n&(n-1) == 0 {
				l.log.Error("preprocess failed", "camera", f.Camera, "seq", f.Seq, "failures", n, "err", err)
			}
			if !it.triggeredAt.IsZero() {
				v := in.missed(trigger{partID: it.partID, at: it.triggeredAt}, f.Seq, "preprocess: "+err.Error())
				b.items = append(b.items, item{missed: &v})
			}
			f.Release()
			continue
		}
		it.row, it.rows = b.rows, rows
		b.items = append(b.items, it)
		b.frames++
		b.rows += rows
	}
	return added
}

// preprocess writes a frame's images into dst, per values each: the whole
// frame, or each region straight from the frame's pixels (a region is a
// window of the same buffer, never a copy). It returns how many it wrote.
func (l *Loop) preprocess(f *frame.Frame, regions []RegionOptions, dst []float32, per int) (int, error) {
	if len(regions) == 0 {
		return 1, l.pre.BGR(f.Pix, f.Width, f.Height, f.Stride, dst[:per])
	}
	for i, r := range regions {
		box := r.Box
		if box.X < 0 || box.Y < 0 || box.W <= 0 || box.H <= 0 || box.X+box.W > f.Width || box.Y+box.H > f.Height {
			return 0, fmt.Errorf("region %q (x %d, y %d, %dx%d) is not inside the %dx%d frame", r.Name, box.X, box.Y, box.W, box.H, f.Width, f.Height)
		}
		pix := f.Pix[box.Y*f.Stride+box.X*3:]
		if err := l.pre.BGR(pix, box.W, box.H, f.Stride, dst[i*per:(i+1)*per]); err != nil {
			return 0, fmt.Errorf("region %q: %w", r.Name, err)
		}
	}
	return len(regions), nil
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
		b = newBatch(l.opts.BatchSize, l.regions, l.opts.ImageSize)
	}
}

// infer runs the encoder on each batch, scores each frame and dispatches the
// verdicts, MISSED ones in their place, then hands the buffer back. It is
// the only goroutine that dispatches, so each camera's verdicts reach the
// sinks in the order the camera's queue held them.
func (l *Loop) infer(in <-chan *batch, free chan<- *batch) {
	for b := range in {
		n := b.rows
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
			case len(in.opts.Regions) > 0:
				v = l.judgeRegions(in, it, emb, len(emb)/n, scorers, done)
			case scorer == nil:
				v = defects.MissedVerdict(f.Camera, f.Seq, it.partID, f.CapturedAt, done, in.opts.MissedAction, "no defect classes for this camera")
			default:
				dim := len(emb) / n
				emb := append([]float32(nil), emb[it.row*dim:(it.row+1)*dim]...)
				v = scorer.NewVerdict(captureOf(it), scorer.Score(emb), emb, done)
				v.Source = defects.SourceLocal
				if det := j.detectors[f.Camera]; det != nil {
					l.anomaly(&v, det, patches, it.row, n, f)
				}
			}
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

// captureOf is what a verdict records of an item's frame and trigger.
func captureOf(it item) defects.Capture {
	f := it.frame
	return defects.Capture{Camera: f.Camera, Seq: f.Seq, PartID: it.partID, CapturedAt: f.CapturedAt, Truth: f.Truth,
		TriggeredAt: it.triggeredAt, SharedFrame: it.shared}
}

// judgeRegions scores each region of a frame with its own set and makes
// the part's verdict the worst region's, listing them all. The verdict
// keeps no embedding: there is one per region, and re-scoring a stored
// record with one set would judge the part by one region.
func (l *Loop) judgeRegions(in *intake, it item, emb []float32, dim int, scorers Scorers, done time.Time) defects.Verdict {
	f := it.frame
	regions := make([]defects.RegionVerdict, 0, len(in.opts.Regions))
	var v defects.Verdict
	for i, r := range in.opts.Regions {
		s := scorers[RegionKey(f.Camera, r.Name)]
		if s == nil {
			return defects.MissedVerdict(f.Camera, f.Seq, it.partID, f.CapturedAt, done, in.opts.MissedAction,
				fmt.Sprintf("no defect classes for region %q", r.Name))
		}
		row := it.row + i
		res := s.Score(emb[row*dim : (row+1)*dim])
		if i == 0 {
			v = s.NewVerdict(captureOf(it), res, nil, done)
		}
		regions = append(regions, defects.RegionVerdictOf(r.Name, r.Box, s.Set().Name, res))
	}
	v.ApplyRegions(regions)
	v.Source = defects.SourceLocal
	return v
}

// run encodes a batch's frames: with the patch outputs of the same run when
// a frame's camera has an anomaly detector and the encoder can give them.
func (l *Loop) run(b *batch, dets Detectors) ([]float32, *Patches, error) {
	n := b.rows
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

// fanOut gives a result to every sink, then a camera's verdict to its part
// stage.
func (l *Loop) fanOut(r Result) {
	for _, s := range l.sinks {
		s.offer(r)
	}
	if l.parts != nil {
		l.parts.offer(r.Verdict)
	}
}
