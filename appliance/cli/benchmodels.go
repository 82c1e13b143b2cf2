package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/linesight/linesight/appliance/benchmodels"
	"github.com/linesight/linesight/pipeline/clip/engine"
)

// benchModels is `linesight bench models`: every variant of a bundle
// measured on this box, each in a child process of this binary.
func benchModels(ctx context.Context, args []string, stdio Stdio) error {
	if len(args) > 0 && args[0] == benchmodels.ChildArg {
		return benchmodels.ChildMain(ctx, stdio.In, stdio.Out, logger(stdio))
	}
	fs := newFlags("bench models", stdio)
	dir := fs.String("bundle", "", "model bundle directory (required)")
	dataset := fs.String("dataset", "", "labelled images (MVTec AD layout) for agreement with fp32; default: pictures of the synthetic line")
	maxImages := fs.Int("max-images", 48, "at most this many agreement images, spread over the dataset or the 24 synthetic pictures (0: all)")
	variants := fs.String("variants", "", "variants to measure, comma-separated (default: every variant of the bundle; fp32 is always measured)")
	batches := fs.String("batches", "1,2,4,8", "batch sizes to time")
	threads := fs.Int("threads", 0, "ONNX Runtime intra-op threads (0: one per core)")
	duration := fs.Duration("duration", 10*time.Second, "time each batch size at least this long")
	minRuns := fs.Int("min-runs", 3, "and at least this many calls")
	repeat := fs.Int("repeat", 1, "measure every variant this many times, in rounds, and keep each batch size's fastest")
	defectsFile := fs.String("defects", "", "defect-class file for verdict agreement (default: a built-in generic set)")
	set := fs.String("set", "", "class set of --defects (default: the default camera's)")
	jsonPath := fs.String("json", "", "also write the report as JSON to FILE")
	chartPath := fs.String("chart", "", "also draw images/s per variant as a PNG chart to FILE")
	ortLib := fs.String("ort-lib", "", "path of libonnxruntime.so.1 (default $"+engine.LibraryEnv+", then "+engine.DefaultLibraryPath+")")
	cores := fs.Int("cores", 0, "cores for the peak GFLOP/s (default: CPUs available to this process)")
	clock := fs.Float64("clock-ghz", 0, "sustained clock for the peak GFLOP/s (default: cpufreq's maximum, else /proc/cpuinfo's MHz)")
	fmaUnits := fs.Int("fma-units", 2, "vector FMA units per core for the peak GFLOP/s")
	dense := fs.Bool("dense", true, "also time batch 1 with the patch outputs (anomaly maps) against the model cut down to image_embeds")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("need --bundle DIR")
	}
	sizes, err := parseBatches(*batches)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to run the measurements: %w", err)
	}
	m := benchmodels.DetectMachine()
	if *cores > 0 {
		m.Cores = *cores
	}
	if *clock > 0 {
		m.ClockGHz, m.ClockSource = *clock, "--clock-ghz"
	}
	m.FMAUnits = *fmaUnits

	rep, err := benchmodels.Run(ctx, benchmodels.Options{
		Bundle: *dir, Variants: parseList(*variants), Dataset: *dataset, MaxImages: *maxImages,
		Defects: *defectsFile, Set: *set, Batches: sizes, Threads: *threads,
		Duration: *duration, MinRuns: *minRuns, Repeat: *repeat, ORTLibrary: *ortLib, Machine: m, Dense: *dense,
		Child:  benchmodels.Command{Path: exe, Args: []string{"bench", "models", benchmodels.ChildArg}},
		Stderr: stdio.Err, Log: logger(stdio),
	})
	if err != nil {
		return err
	}
	if err := rep.WriteTable(stdio.Out); err != nil {
		return err
	}
	fmt.Fprintln(stdio.Out)
	if err := rep.WriteBatches(stdio.Out); err != nil {
		return err
	}
	if *jsonPath != "" {
		if err := rep.WriteJSON(*jsonPath); err != nil {
			return err
		}
	}
	if *chartPath != "" {
		if err := rep.WriteChart(*chartPath); err != nil {
			return err
		}
	}
	return nil
}

// parseBatches reads "1,2,4,8" into positive batch sizes.
func parseBatches(s string) ([]int, error) {
	var out []int
	for _, f := range parseList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--batches: %q is not a positive batch size", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--batches: none given")
	}
	return out, nil
}
