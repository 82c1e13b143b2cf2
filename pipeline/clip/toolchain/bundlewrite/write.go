// Package bundlewrite builds a model bundle from weights: every variant's
// ONNX graphs (the graph builder), the configs and the tokenizer files. It
// is the model toolchain's last step; the appliance only reads bundles
// (package bundle).
package bundlewrite

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/calibrate"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
)

// Options choose what Write produces.
type Options struct {
	// Variants to write; empty means fp32 only.
	Variants []graph.Variant
	// PatchLayers are the layers whose patch tokens the vision models
	// return (graph.Options.PatchLayers); nil means the architecture's
	// default memory layers. Recorded in the provenance.
	PatchLayers []int
	// TextFrom, when set, is a bundle whose text models are copied as they
	// are, variant by variant, instead of built from the weights: a
	// distilled student keeps its teacher's text tower exactly. A variant
	// whose text model TextFrom lacks gets its fp32 one (the text tower
	// runs at warm-up only, into the prompt cache).
	TextFrom string
	// CalibrationPixels are preprocessed images (CalibrationImages of them,
	// 3 x size x size each) of the line, whose runs through the fp32 vision
	// tower calibrate the int8static variant (package calibrate); that
	// variant needs them.
	CalibrationPixels []float32
	CalibrationImages int
	// Threads is ONNX Runtime's intra-op threads for calibration; 0: its
	// default.
	Threads int
	// Replace allows overwriting an existing bundle directory.
	Replace bool
	// Provenance is recorded in the bundle's linesight.json.
	Provenance bundle.Provenance
	// Progress, when set, hears about each stage: building a graph (done and
	// total in graph stages) and writing a file (done and total in bytes).
	Progress func(stage string, done, total int64)
}

// Write builds the ONNX graphs of every requested variant from the weights and
// writes a complete bundle: configs, tokenizer files and models. It writes into
// a sibling directory first and renames it into place, so a failed or
// interrupted write never leaves a half bundle at dir.
func Write(dir string, cfg arch.Config, w arch.Weights, tok *tokenizer.Tokenizer, pre preprocess.Params, opts Options) (err error) {
	towers := []arch.Tower{arch.Vision, arch.Text}
	if opts.TextFrom != "" {
		towers = towers[:1]
	}
	for _, t := range towers {
		if err := w.Check(cfg, t); err != nil {
			return fmt.Errorf("write model bundle: %w", err)
		}
	}
	if _, err := os.Stat(dir); err == nil && !opts.Replace {
		return fmt.Errorf("write model bundle: %s already exists (remove it or choose another --out)", dir)
	}
	variants := opts.Variants
	if len(variants) == 0 {
		variants = []graph.Variant{graph.FP32}
	}
	if slices.Contains(variants, graph.INT8Static) && opts.CalibrationImages == 0 {
		return fmt.Errorf("write model bundle: variant int8static needs calibration images (--calibration-images DIR)")
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}

	tmp := dir + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("write model bundle: clear %s: %w", tmp, err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, bundle.ModelDir), 0o755); err != nil {
		return fmt.Errorf("write model bundle: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()

	if scale, ok := w[arch.LogitScaleParam.Name]; ok && len(scale.Data) == 1 {
		v := float64(scale.Data[0])
		cfg.LogitScale = &v
	}
	if err := os.WriteFile(filepath.Join(tmp, bundle.ConfigFile), cfg.JSON(), 0o644); err != nil {
		return fmt.Errorf("write model bundle: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, bundle.PreprocessorFile), pre.JSON(), 0o644); err != nil {
		return fmt.Errorf("write model bundle: %w", err)
	}
	provenance := opts.Provenance
	if slices.Contains(variants, graph.INT8Static) {
		provenance.CalibrationImages = opts.CalibrationImages
	}
	if provenance.PatchLayers, err = graph.ResolvePatchLayers(cfg.VisionConfig, opts.PatchLayers); err != nil {
		return fmt.Errorf("write model bundle: %w", err)
	}
	prov, _ := json.MarshalIndent(provenance, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, bundle.ProvenanceFile), append(prov, '\n'), 0o644); err != nil {
		return fmt.Errorf("write model bundle: %w", err)
	}
	if err := tok.WriteFiles(tmp); err != nil {
		return fmt.Errorf("write model bundle: tokenizer: %w", err)
	}

	var ranges graph.Ranges
	if slices.Contains(variants, graph.INT8Static) {
		ranges, err = calibrate.Vision(cfg, w, opts.CalibrationPixels, opts.CalibrationImages, calibrate.Options{Threads: opts.Threads,
			Progress: func(done, total int) { progress("calibrate int8static", int64(done), int64(total)) }})
		if err != nil {
			return fmt.Errorf("write model bundle: %w", err)
		}
	}
	for _, v := range variants {
		for _, tower := range []arch.Tower{arch.Vision, arch.Text} {
			name := bundle.ModelFile(tower, v.Suffix())
			if tower == arch.Text && opts.TextFrom != "" {
				from := filepath.Join(opts.TextFrom, bundle.ModelDir, name)
				if _, err := os.Stat(from); err != nil {
					from = filepath.Join(opts.TextFrom, bundle.ModelDir, bundle.ModelFile(arch.Text, ""))
				}
				if err := copyModel(from, filepath.Join(tmp, bundle.ModelDir, name)); err != nil {
					return fmt.Errorf("write model bundle: the text model of variant %s: %w", v, err)
				}
				progress("copy "+filepath.Base(from)+" as "+name, 1, 1)
				continue
			}
			m, err := graph.Build(cfg, w, tower, graph.Options{
				Variant:     v,
				PatchLayers: provenance.PatchLayers,
				Ranges:      ranges,
				Progress: func(stage string, done, total int) {
					progress(fmt.Sprintf("build %s (%s)", name, stage), int64(done), int64(total))
				},
			})
			if err != nil {
				return fmt.Errorf("write model bundle: build %s: %w", name, err)
			}
			err = m.Save(filepath.Join(tmp, bundle.ModelDir, name), onnxproto.SaveOptions{
				Progress: func(written, total int64) { progress("write "+name, written, total) },
			})
			if err != nil {
				return fmt.Errorf("write model bundle: %w", err)
			}
		}
	}

	if opts.Replace {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("write model bundle: replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("write model bundle: %w", err)
	}
	return nil
}

// copyModel copies a model file and its external data file, when it has
// one.
func copyModel(from, to string) error {
	if err := copyFile(from, to); err != nil {
		return err
	}
	if _, err := os.Stat(onnxproto.ExternalDataPath(from)); err == nil {
		return copyFile(onnxproto.ExternalDataPath(from), onnxproto.ExternalDataPath(to))
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
