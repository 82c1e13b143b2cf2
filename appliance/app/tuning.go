package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/linesight/linesight/appliance/tuning"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/metrics"
)

// tuningState is the appliance's side of memory-aware loading and the
// adaptive monitor.
type tuningState struct {
	plan    *tuning.Plan    // nil without model.max_memory_mb
	batch   int             // the batch size the loop is built for
	vision  *tuning.Handle  // the encoder the loop runs, swappable
	monitor *tuning.Monitor // nil unless performance.adaptive
	bundle  *bundle.Bundle
	lighter []string // variants lighter than the chosen one, heaviest first
}

// TuningStatus is what status shows of the choice and the monitor.
type TuningStatus struct {
	Plan    *tuning.Plan   `json:"plan,omitempty"`
	Monitor *tuning.Status `json:"monitor,omitempty"`
}

// openModel opens the model. With model.max_memory_mb it chooses the
// heaviest variant, no heavier than model.variant, and the largest batch,
// no larger than pipeline.batch_size, that fit, and says why.
func (a *App) openModel() (*clip.Model, error) {
	cfg := a.Config
	a.tune.batch = cfg.Pipeline.BatchSize
	if err := engine.Init(cfg.Model.ORTLibrary); err != nil {
		return nil, err
	}
	b, err := bundle.Open(cfg.Model.Bundle)
	if err != nil {
		return nil, err
	}
	a.tune.bundle = b
	candidates, err := variantsBySize(b, cfg.Model.Variant)
	if err != nil {
		return nil, err
	}
	lighterThan := func(variant string) {
		i := slices.IndexFunc(candidates, func(c tuning.Candidate) bool { return c.Variant == variant })
		for _, c := range candidates[i+1:] {
			a.tune.lighter = append(a.tune.lighter, c.Variant)
		}
	}
	if cfg.Model.MaxMemoryMB == 0 {
		lighterThan(candidates[0].Variant)
		return OpenModel(cfg.Model, a.Log)
	}
	sel := tuning.Selector{
		Cap:        int64(cfg.Model.MaxMemoryMB) * tuning.MB,
		MaxBatch:   cfg.Pipeline.BatchSize,
		Candidates: candidates,
		Load: func(variant string) (tuning.Loaded, error) {
			m := cfg.Model
			m.Variant = variant
			model, err := OpenModel(m, a.Log)
			if err != nil {
				return nil, err
			}
			return trialModel{model}, nil
		},
	}
	plan, err := sel.Select()
	if err != nil {
		return nil, err
	}
	a.tune.plan, a.tune.batch = plan, plan.Batch
	lighterThan(plan.Variant)
	a.Log.Info("model chosen for the memory cap", "variant", plan.Variant, "batch", plan.Batch,
		"cap_mb", plan.CapMB, "peak_mb", plan.PeakMB, "estimated_mb", plan.EstimatedMB, "why", plan.Reason)
	return plan.Model().(trialModel).Model, nil
}

// variantsBySize lists the bundle's variants no heavier than the configured
// one, heaviest first, with their memory estimates. Size on disk orders
// them: it is what the weights cost in memory.
func variantsBySize(b *bundle.Bundle, configured string) ([]tuning.Candidate, error) {
	files, err := b.Files(configured)
	if err != nil {
		return nil, err
	}
	ceiling := tuning.ModelBytes(files.Vision, files.Text)
	var out []tuning.Candidate
	for _, v := range b.Variants() {
		f, _ := b.Files(v)
		size := tuning.ModelBytes(f.Vision, f.Text)
		if size > ceiling || (size == ceiling && v != configured) {
			continue
		}
		out = append(out, tuning.Candidate{Variant: v, Estimate: tuning.EstimateVariant(b.Config.VisionConfig, v, size)})
	}
	slices.SortStableFunc(out, func(x, y tuning.Candidate) int {
		if x.Variant == configured {
			return -1
		}
		if y.Variant == configured {
			return 1
		}
		return int(y.Estimate.Weights - x.Estimate.Weights)
	})
	return out, nil
}

// trialModel lets the selector warm a candidate up with one batch.
type trialModel struct{ *clip.Model }

func (m trialModel) Warm(n int) error {
	h, w := m.Vision.InputSize()
	_, err := m.Vision.Embed(make([]float32, n*3*h*w), n)
	return err
}

// encoder is what the loop runs: the model's vision encoder behind a handle
// the monitor can swap.
func (a *App) encoder() *tuning.Handle {
	a.tune.vision = tuning.NewHandle(visionEncoder{a.model.Vision})
	return a.tune.vision
}

// batchSize is the batch the loop is built for: the configured one, or the
// one that fits the memory cap.
func (a *App) batchSize() int { return a.tune.batch }

// startTuning makes the monitor when performance.adaptive is on; call it
// once the loop exists.
func (a *App) startTuning() {
	p := a.Config.Performance
	if !p.Adaptive {
		return
	}
	variants := []string{a.model.Variant}
	if p.SwapVariants {
		variants = append(variants, a.tune.lighter...)
	}
	lim := tuning.Limits{
		MaxBatch: a.tune.batch, MaxWait: a.Config.Pipeline.BatchWait, Variants: variants,
		Deadline: p.Deadline, Headroom: p.Headroom, Settle: p.Settle,
		MemCap: int64(a.Config.Model.MaxMemoryMB) * tuning.MB,
	}
	target := tuning.Target{Batching: a.loop.Batching, SetBatching: a.loop.SetBatching, SwapVariant: a.swapVariant}
	a.tune.monitor = tuning.NewMonitor(lim, p.Quantile, p.Window, a.reading, target, a.Log, nil)
	a.Log.Info("adaptive tuning on", "deadline", p.Deadline, "window", p.Window, "variants", variants)
}

// runTuning runs the monitor, if any, until ctx ends.
func (a *App) runTuning(ctx context.Context) {
	if a.tune.monitor != nil {
		a.tune.monitor.Run(ctx)
	}
}

// reading is the pipeline's cumulative state, for the monitor.
func (a *App) reading() tuning.Reading {
	var r tuning.Reading
	for _, c := range a.Config.Cameras {
		st := a.loop.CameraStats(c.ID)
		r.Latency = mergeHistograms(r.Latency, st.Latency.Snapshot())
		r.Backlog += int(st.QueueDepth.Value())
		r.Dropped += st.Dropped.Value()
	}
	r.Batches, r.Busy = a.loop.Batches.Value(), a.loop.Inference.Snapshot().Sum
	r.RSS, _ = tuning.ReadRSS()
	return r
}

func mergeHistograms(a, b metrics.HistogramSnapshot) metrics.HistogramSnapshot {
	if a.Count == 0 {
		return b
	}
	out := metrics.HistogramSnapshot{Count: a.Count + b.Count, Sum: a.Sum + b.Sum, Min: min(a.Min, b.Min), Max: max(a.Max, b.Max)}
	for i := range a.Buckets {
		bc := a.Buckets[i]
		if i < len(b.Buckets) {
			bc.Count += b.Buckets[i].Count
		}
		out.Buckets = append(out.Buckets, bc)
	}
	return out
}

// swapVariant opens another variant's vision encoder and hands it to the
// loop between batches; the old one closes once no batch uses it.
func (a *App) swapVariant(variant string) error {
	files, err := a.tune.bundle.Files(variant)
	if err != nil {
		return err
	}
	m := a.Config.Model
	v, err := engine.OpenVision(files.Vision, engine.SessionOptions{IntraOpThreads: m.Threads, Providers: m.Providers, Logger: a.Log, SpinWait: m.SpinWait})
	if err != nil {
		return fmt.Errorf("open variant %s: %w", variant, err)
	}
	next := tuning.NewHandle(visionEncoder{v})
	a.loop.SetEmbedder(next)
	a.mu.Lock()
	old := a.tune.vision
	a.tune.vision = next
	a.mu.Unlock()
	old.Retire(next)
	tuning.TrimMemory()
	return nil
}

// tuningStatus reports the choice at start-up and the monitor.
func (a *App) tuningStatus() *TuningStatus {
	if a.tune.plan == nil && a.tune.monitor == nil {
		return nil
	}
	s := &TuningStatus{Plan: a.tune.plan}
	if a.tune.monitor != nil {
		st := a.tune.monitor.Status()
		s.Monitor = &st
	}
	return s
}

// releaseTuning closes a swapped-in encoder; the model closes its own.
func (a *App) releaseTuning() {
	a.mu.Lock()
	h := a.tune.vision
	a.tune.vision = nil
	a.mu.Unlock()
	if h != nil {
		h.Close()
	}
}
