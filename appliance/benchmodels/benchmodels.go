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
	MaxImages int // images taken from Dataset, spread over it (0: all)
	// Defects is a defect-class file and Set one of its sets; empty means
	// the built-in generic set.
	Defects, Set string
	Batches      []int
	Threads      int
	Duration     time.Duration // per batch size and variant
	MinRuns      int
	ORTLibrary   string
	Machine      Machine
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
	Speedup   float64   `json:"speedup_vs_fp32"`
	Agreement Agreement `json:"agreement"`
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
	source := "synthetic line (24 pictures: every part type, good and each defect kind)"
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
	}

	rep := &Report{
		Date: time.Now().UTC(), Bundle: opts.Bundle, Preset: b.Provenance.Preset, Synthetic: b.Provenance.Synthetic,
		Machine: opts.Machine, PeakGFLOPS: opts.Machine.PeakGFLOPS(),
		GFLOPPerImage: VisionFLOPs(b.Config) / 1e9, Threads: opts.Threads,
		Images: source, ClassSet: set.Name,
	}
	var ref *ChildResult
	for _, name := range names {
		log.Info("measuring variant", "variant", name, "bundle", opts.Bundle)
		spec := Spec{
			Bundle: opts.Bundle, Variant: name, ORTLibrary: opts.ORTLibrary, Threads: opts.Threads,
			Batches: opts.Batches, Duration: opts.Duration, MinRuns: opts.MinRuns,
			Images: paths, Prompts: prompts(set),
		}
		var r ChildResult
		if err := runChild(ctx, opts.Child, spec, &r, opts.Stderr); err != nil {
			return nil, fmt.Errorf("measure variant %s: %w", name, err)
		}
		if ref == nil {
			ref = &r
			rep.ORTVersion = r.ORTVersion
		}
		v, err := summarise(b, name, &r, rep)
		if err != nil {
			return nil, err
		}
		if v.Agreement, err = agree(set, ref, &r); err != nil {
			return nil, fmt.Errorf("variant %s against fp32: %w", name, err)
		}
		if fp32 := rep.Variants; len(fp32) > 0 && fp32[0].Best.ImagesPerS > 0 {
			v.Speedup = v.Best.ImagesPerS / fp32[0].Best.ImagesPerS
		} else {
			v.Speedup = 1
		}
		rep.Variants = append(rep.Variants, v)
	}
	return rep, nil
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
	v := Variant{Name: name, Provider: r.Provider, LoadTime: r.LoadTime, PeakRSS: r.PeakRSS, Batches: r.Batches}
	v.VisionBytes = modelBytes(files.Vision)
	v.TotalBytes = v.VisionBytes + modelBytes(files.Text)
	for _, br := range r.Batches {
		if br.Batch == 1 {
			v.Batch1 = br
		}
		if br.ImagesPerS > v.Best.ImagesPerS {
			v.Best = br
		}
	}
	v.GFLOPS = v.Best.ImagesPerS * rep.GFLOPPerImage
	if rep.PeakGFLOPS > 0 {
		v.PeakShare = v.GFLOPS / rep.PeakGFLOPS
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
