package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
	"github.com/linesight/linesight/pipeline/clip/toolchain/safetensors"
)

// bundleFlags are the output flags shared by synth and import.
type bundleFlags struct {
	out         string
	variants    string
	replace     bool
	calibration string
	threads     int
}

func (f *bundleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.out, "out", "", "bundle directory to write")
	fs.StringVar(&f.variants, "variants", "fp32", "variants to write: any of fp32,fp16,int8,int8w,int8b,int8vnni,int8static (docs/variants.md)")
	fs.BoolVar(&f.replace, "replace", false, "replace an existing bundle at --out")
	fs.StringVar(&f.calibration, "calibration-images", "", "for int8static: a folder (or file) of the line's images whose activation ranges calibrate it")
	fs.IntVar(&f.threads, "threads", 0, "threads for ONNX Runtime during calibration; 0: all cores")
}

func (f *bundleFlags) parseVariants() ([]graph.Variant, error) {
	var vs []graph.Variant
	for _, name := range parseList(f.variants) {
		v, err := graph.ParseVariant(name)
		if err != nil {
			return nil, fmt.Errorf("--variants: %w", err)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("--variants: none given")
	}
	return vs, nil
}

func modelSynth(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model synth", stdio)
	var bf bundleFlags
	bf.register(fs)
	preset := fs.String("preset", "tiny", "architecture: tiny, vit-b-32, vit-b-16, vit-l-14, vit-l-14-336")
	seed := fs.Uint64("seed", 1, "random seed; the same preset and seed always give the same weights")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if bf.out == "" {
		return fmt.Errorf("need --out DIR")
	}
	variants, err := bf.parseVariants()
	if err != nil {
		return err
	}
	cfg, err := arch.Preset(*preset)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Err, "generating %s weights (seed %d)\n", *preset, *seed)
	w := arch.RandomWeights(cfg, *seed)
	tok, err := tokenizer.Default()
	if err != nil {
		return err
	}
	pre := preprocess.DefaultParams()
	pre.ShortestEdge = cfg.VisionConfig.ImageSize
	pre.CropHeight, pre.CropWidth = cfg.VisionConfig.ImageSize, cfg.VisionConfig.ImageSize
	return writeBundle(stdio, bf, variants, cfg, w, tok, pre,
		bundle.Provenance{Synthetic: true, Preset: *preset, Seed: *seed},
		"random weights: its verdicts mean nothing; see docs/models.md to import a real CLIP checkpoint")
}

func modelImport(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model import", stdio)
	var bf bundleFlags
	bf.register(fs)
	from := fs.String("from", "", "Hugging Face CLIPModel directory: config.json + model.safetensors (or a sharded index)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *from == "" || bf.out == "" {
		return fmt.Errorf("need --from DIR and --out DIR")
	}
	variants, err := bf.parseVariants()
	if err != nil {
		return err
	}
	p := newProgress(stdio.Err)
	cfg, w, err := safetensors.LoadCLIP(*from, func(done, total int64) { p.report("read weights", done, total) })
	if err != nil {
		return err
	}
	tok, err := tokenizer.FromDir(*from)
	if err != nil {
		fmt.Fprintf(stdio.Err, "no usable tokenizer files in %s (%v); writing OpenAI's vocabulary\n", *from, err)
		if tok, err = tokenizer.Default(); err != nil {
			return err
		}
	}
	pre, err := sourcePreprocess(*from, cfg)
	if err != nil {
		return err
	}
	return writeBundle(stdio, bf, variants, cfg, w, tok, pre, bundle.Provenance{ImportedFrom: *from}, "")
}

// sourcePreprocess takes the checkpoint's preprocessor_config.json when it
// has one, else OpenAI's transform at the model's image size.
func sourcePreprocess(dir string, cfg arch.Config) (preprocess.Params, error) {
	data, err := os.ReadFile(filepath.Join(dir, bundle.PreprocessorFile))
	if errors.Is(err, fs.ErrNotExist) {
		p := preprocess.DefaultParams()
		p.ShortestEdge = cfg.VisionConfig.ImageSize
		p.CropHeight, p.CropWidth = cfg.VisionConfig.ImageSize, cfg.VisionConfig.ImageSize
		return p, nil
	}
	if err != nil {
		return preprocess.Params{}, fmt.Errorf("read %s: %w", bundle.PreprocessorFile, err)
	}
	p, err := preprocess.ParseProcessorConfig(data)
	if err != nil {
		return preprocess.Params{}, fmt.Errorf("%s: %w", filepath.Join(dir, bundle.PreprocessorFile), err)
	}
	return p, nil
}

func writeBundle(stdio Stdio, bf bundleFlags, variants []graph.Variant, cfg arch.Config, w arch.Weights,
	tok *tokenizer.Tokenizer, pre preprocess.Params, prov bundle.Provenance, note string) error {
	p := newProgress(stdio.Err)
	start := time.Now()
	opts := bundlewrite.Options{Variants: variants, Replace: bf.replace, Progress: p.report, Provenance: prov, Threads: bf.threads}
	static := slices.Contains(variants, graph.INT8Static)
	switch {
	case static && bf.calibration == "":
		return fmt.Errorf("--variants int8static needs --calibration-images DIR: the line's images calibrate its activation ranges")
	case !static && bf.calibration != "":
		return fmt.Errorf("--calibration-images calibrates int8static, which --variants does not ask for")
	case static:
		files, err := offline.ImageFiles([]string{bf.calibration})
		if err != nil {
			return fmt.Errorf("--calibration-images: %w", err)
		}
		if opts.CalibrationPixels, err = offline.Pixels(files, pre, func(done, total int) { p.report("preprocess calibration images", int64(done), int64(total)) }); err != nil {
			return fmt.Errorf("--calibration-images: %w", err)
		}
		opts.CalibrationImages = len(files)
	}
	err := bundlewrite.Write(bf.out, cfg, w, tok, pre, opts)
	if err != nil {
		return err
	}
	b, err := bundle.Open(bf.out)
	if err != nil {
		return fmt.Errorf("re-open written bundle: %w", err)
	}
	fmt.Fprintf(stdio.Err, "wrote %s in %s: variants %v\n", bf.out, time.Since(start).Round(time.Millisecond), b.Variants())
	if note != "" {
		fmt.Fprintf(stdio.Err, "note: %s\n", note)
	}
	return nil
}

// progress prints a stage's progress when it starts, at most once a second
// while it runs, and when it ends.
type progress struct {
	w     io.Writer
	stage string
	last  time.Time
	ended bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) report(stage string, done, total int64) {
	now := time.Now()
	ended := total > 0 && done >= total
	if stage == p.stage && (p.ended || !ended && now.Sub(p.last) < time.Second) {
		return
	}
	p.stage, p.last, p.ended = stage, now, ended
	if total <= 0 {
		fmt.Fprintf(p.w, "%s: %d\n", stage, done)
		return
	}
	amount := func(n int64) string { return fmt.Sprint(n) }
	if strings.HasPrefix(stage, "write") || strings.HasPrefix(stage, "read") {
		amount = func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
	}
	fmt.Fprintf(p.w, "%s: %3.0f%% (%s of %s)\n", stage, 100*float64(done)/float64(total), amount(done), amount(total))
}
