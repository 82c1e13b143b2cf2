// Package benchmodels measures every variant of a model bundle on the box it
// runs on: size, load time, peak memory, throughput and latency, the share
// of the CPU's peak arithmetic rate it reaches, and how closely its
// embeddings and verdicts follow fp32's. It is `linesight bench models`.
package benchmodels

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// Options choose what Run measures.
type Options struct {
	Bundle string
	// Variants to measure; empty means every variant of the bundle. fp32 is
	// always measured (first), as the reference for agreement.
	Variants []string
	// Dataset is an MVTec AD-layout folder for agreement; empty means
	// pictures of the synthetic line.
	Dataset   string
	MaxImages int // images taken from Dataset or the synthetic line, spread over it (0: all)
	// Defects is a defect-class file and Set one of its sets; empty means
	// the built-in generic set.
	Defects, Set string
	Batches      []int
	Threads      int
	Duration     time.Duration // per batch size and variant
	MinRuns      int
	// Repeat measures every variant this many times, in rounds (fp32, fp16,
	// ..., then again), and keeps each batch size's fastest round: on a
	// shared or throttling machine the best of several is the closest to
	// what the box can do, and rounds spread a load change over all variants.
	Repeat     int
	ORTLibrary string
	// Dense also times batch 1 with the patch outputs against the model cut
	// down to image_embeds (DenseCost), for variants that have them.
	Dense   bool
	Machine Machine
	// Child starts the measuring process (see Command).
	Child Command
	// Stderr takes the children's logs.
	Stderr io.Writer
	Log    *slog.Logger
}

// Report is the result of Run.
type Report struct {
	Date          time.Time `json:"date"`
	Bundle        string    `json:"bundle"`
	Preset        string    `json:"preset,omitempty"`
	Synthetic     bool      `json:"synthetic"`
	ORTVersion    string    `json:"ort_version"`
	Machine       Machine   `json:"machine"`
	PeakGFLOPS    float64   `json:"peak_gflops"`
	GFLOPPerImage float64   `json:"gflop_per_image"`
	Threads       int       `json:"threads"`
	Repeat        int       `json:"repeat"`           // rounds; each batch size keeps its fastest
	Images        string    `json:"agreement_images"` // where they came from
	ClassSet      string    `json:"class_set"`
	Variants      []Variant `json:"variants"`
}

// Variant is the measurement of one variant.
type Variant struct {
	Name        string        `json:"variant"`
	Provider    string        `json:"provider"`
	VisionBytes int64         `json:"vision_bytes"` // vision model with its external data
	TotalBytes  int64         `json:"total_bytes"`  // vision and text
	LoadTime    time.Duration `json:"load_ns"`
	PeakRSS     int64         `json:"peak_rss_bytes"`
	Batches     []BatchResult `json:"batches"`
	Batch1      BatchResult   `json:"batch1"` // the batch-1 row (zero when not measured)
	Best        BatchResult   `json:"best"`   // the batch size with the highest images/s
	// GFLOPS is the achieved rate at the best batch size, and PeakShare that
	// over the machine's peak.
	GFLOPS    float64 `json:"gflops"`
	PeakShare float64 `json:"peak_share"`
	// Speedup is Best.ImagesPerS over fp32's.
	Speedup float64 `json:"speedup_vs_fp32"`
	// BestCPU is the highest CPUImagesPerS over the batch sizes, with the
	// GFLOP/s, share of peak and speedup it implies: the figures for a box
	// with no other load, estimated from CPU time.
	BestCPU      float64   `json:"best_cpu_images_per_s"`
	CPUGFLOPS    float64   `json:"cpu_gflops"`
	CPUPeakShare float64   `json:"cpu_peak_share"`
	CPUSpeedup   float64   `json:"cpu_speedup_vs_fp32"`
	Agreement    Agreement `json:"agreement"`
	// Dense is what the patch outputs add at batch 1, from the round with
	// the fastest pair of runs; nil when not measured or when the variant
	// has no patch outputs.
	Dense *DenseCost `json:"dense_cost,omitempty"`
}

// Run measures the variants one child process at a time.
func Run(ctx context.Context, opts Options) (*Report, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	b, err := bundle.Open(opts.Bundle)
	if err != nil {
		return nil, err
	}
	names, err := pickVariants(b.Variants(), opts.Variants)
	if err != nil {
		return nil, err
	}
	set, err := loadClassSet(opts.Defects, opts.Set)
	if err != nil {
		return nil, err
	}
	var paths []string
	var source string
	if opts.Dataset != "" {
		if paths, err = datasetImages(opts.Dataset, opts.MaxImages, log); err != nil {
			return nil, err
		}
		source = fmt.Sprintf("%s (%d images)", opts.Dataset, len(paths))
	} else {
		tmp, err := os.MkdirTemp("", "linesight-bench-models-")
		if err != nil {
			return nil, fmt.Errorf("bench models: %w", err)
		}
		defer os.RemoveAll(tmp)
		if paths, err = syntheticImages(tmp, 1); err != nil {
			return nil, err
		}
		paths = spread(paths, opts.MaxImages)
		source = fmt.Sprintf("synthetic line (%d pictures of every part type, good and with each defect kind)", len(paths))
	}

	rep := &Report{
		Date: time.Now().UTC(), Bundle: opts.Bundle, Preset: b.Provenance.Preset, Synthetic: b.Provenance.Synthetic,
		Machine: opts.Machine, PeakGFLOPS: opts.Machine.PeakGFLOPS(),
		GFLOPPerImage: VisionFLOPs(b.Config) / 1e9, Threads: opts.Threads, Repeat: max(opts.Repeat, 1),
		Images: source, ClassSet: set.Name,
	}
	rounds := make(map[string][]*ChildResult)
	for round := 0; round < max(opts.Repeat, 1); round++ {
		for _, name := range names {
			log.Info("measuring variant", "variant", name, "round", round+1, "bundle", opts.Bundle)
			spec := Spec{
				Bundle: opts.Bundle, Variant: name, ORTLibrary: opts.ORTLibrary, Threads: opts.Threads,
				Batches: opts.Batches, Duration: opts.Duration, MinRuns: opts.MinRuns, Dense: opts.Dense,
			}
			if round == 0 { // embeddings are the same in every round
				spec.Images, spec.Prompts = paths, prompts(set)
			}
			var r ChildResult
			if err := runChild(ctx, opts.Child, spec, &r, opts.Stderr); err != nil {
				return nil, fmt.Errorf("measure variant %s: %w", name, err)
			}
			rounds[name] = append(rounds[name], &r)
		}
	}
	ref := bestOf(rounds[bundle.FP32])
	rep.ORTVersion = ref.ORTVersion
	for _, name := range names {
		r := bestOf(rounds[name])
		v, err := summarise(b, name, r, rep)
		if err != nil {
			return nil, err
		}
		if v.Agreement, err = agree(set, ref, r); err != nil {
			return nil, fmt.Errorf("variant %s against fp32: %w", name, err)
		}
		v.Speedup, v.CPUSpeedup = 1, 1
		if ref := rep.Variants; len(ref) > 0 && ref[0].Best.ImagesPerS > 0 {
			v.Speedup = v.Best.ImagesPerS / ref[0].Best.ImagesPerS
			if ref[0].BestCPU > 0 {
				v.CPUSpeedup = v.BestCPU / ref[0].BestCPU
			}
		}
		rep.Variants = append(rep.Variants, v)
	}
	return rep, nil
}

// bestOf merges the rounds of one variant: each batch size's fastest round
// (with that round's latencies), the shortest load and the highest memory
// peak; embeddings are the first round's (they do not change between runs).
func bestOf(rounds []*ChildResult) *ChildResult {
	best := *rounds[0]
	best.Batches = append([]BatchResult(nil), best.Batches...)
	for _, r := range rounds[1:] {
		best.LoadTime = min(best.LoadTime, r.LoadTime)
		if d := r.Dense; d != nil && (best.Dense == nil || d.WithPatches+d.EmbedsOnly < best.Dense.WithPatches+best.Dense.EmbedsOnly) {
			best.Dense = d
		}
		best.PeakRSS = max(best.PeakRSS, r.PeakRSS)
		for i, b := range r.Batches {
			if i >= len(best.Batches) {
				continue
			}
			cpu := max(best.Batches[i].CPUImagesPerS, b.CPUImagesPerS)
			if b.ImagesPerS > best.Batches[i].ImagesPerS {
				best.Batches[i] = b
			}
			best.Batches[i].CPUImagesPerS = cpu
		}
	}
	return &best
}

// pickVariants orders the variants to measure: fp32 first, then the wanted
// ones (all of the bundle's when none are named) in the bundle's order.
func pickVariants(have, want []string) ([]string, error) {
	if !slices.Contains(have, bundle.FP32) {
		return nil, fmt.Errorf("bench models: the bundle has no fp32 variant to compare the others with (it has %v)", have)
	}
	if len(want) == 0 {
		return have, nil // Variants() lists fp32 first
	}
	out := []string{bundle.FP32}
	for _, w := range want {
		if !slices.Contains(have, w) {
			return nil, fmt.Errorf("bench models: the bundle has no variant %q (it has %v)", w, have)
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out, nil
}

// summarise turns a child's numbers into a Variant row.
func summarise(b *bundle.Bundle, name string, r *ChildResult, rep *Report) (Variant, error) {
	files, err := b.Files(name)
	if err != nil {
		return Variant{}, err
	}
	v := Variant{Name: name, Provider: r.Provider, LoadTime: r.LoadTime, PeakRSS: r.PeakRSS, Batches: r.Batches, Dense: r.Dense}
	v.VisionBytes = modelBytes(files.Vision)
	v.TotalBytes = v.VisionBytes + modelBytes(files.Text)
	for _, br := range r.Batches {
		if br.Batch == 1 {
			v.Batch1 = br
		}
		if br.ImagesPerS > v.Best.ImagesPerS {
			v.Best = br
		}
		v.BestCPU = max(v.BestCPU, br.CPUImagesPerS)
	}
	v.GFLOPS = v.Best.ImagesPerS * rep.GFLOPPerImage
	v.CPUGFLOPS = v.BestCPU * rep.GFLOPPerImage
	if rep.PeakGFLOPS > 0 {
		v.PeakShare = v.GFLOPS / rep.PeakGFLOPS
		v.CPUPeakShare = v.CPUGFLOPS / rep.PeakGFLOPS
	}
	return v, nil
}

// modelBytes is the size of a model file and its external data, under the
// names Optimum and PyTorch give that data.
func modelBytes(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "_data", path + ".data"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}
