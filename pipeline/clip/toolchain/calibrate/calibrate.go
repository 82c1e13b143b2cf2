// Package calibrate measures what static quantization needs: the range of
// every linear layer's input in the vision tower, over a line's own images
// (graph.INT8Static, docs/variants.md#int8static). It runs the fp32 tower,
// built with each linear layer's input as an extra output, in ONNX Runtime.
package calibrate

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
)

// Options tune a calibration run.
type Options struct {
	// Threads is ONNX Runtime's intra-op threads; 0: its default.
	Threads int
	// Progress, when set, hears after each image.
	Progress func(done, total int)
}

// Vision runs n preprocessed images (pixels: n x 3 x size x size, as the
// bundle's preprocessing makes them) through the fp32 vision tower of cfg
// and w and returns each linear layer's input range over all of them. The
// ranges are the plain minimum and maximum: the images are the line's own,
// so a value beyond them is rare, and it saturates rather than fails.
// ONNX Runtime is the one engine.Init loaded, or the default one.
func Vision(cfg arch.Config, w arch.Weights, pixels []float32, n int, opts Options) (graph.Ranges, error) {
	size := cfg.VisionConfig.ImageSize
	per := 3 * size * size
	if n <= 0 || len(pixels) != n*per {
		return nil, fmt.Errorf("calibrate: %d pixel values for %d images of %dx%d", len(pixels), n, size, size)
	}
	if !ort.IsInitialized() {
		if err := engine.Init(""); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	m, err := graph.Build(cfg, w, arch.Vision, graph.Options{CalibrationOutputs: true})
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	dir, err := os.MkdirTemp("", "linesight-calibrate-")
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vision_model.onnx")
	if err := m.Save(path, onnxproto.SaveOptions{}); err != nil {
		return nil, fmt.Errorf("calibrate: save the calibration graph: %w", err)
	}
	var outs, prefixes []string
	for _, o := range m.Graph.Outputs {
		if p, ok := graph.CalibrationPrefix(o.Name); ok {
			outs, prefixes = append(outs, o.Name), append(prefixes, p)
		}
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	defer so.Destroy()
	if opts.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(path, []string{graph.InputPixels}, outs, so)
	if err != nil {
		return nil, fmt.Errorf("calibrate: open the calibration graph: %w", err)
	}
	defer s.Destroy()

	ranges := graph.Ranges{}
	for _, p := range prefixes {
		ranges[p] = graph.Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
	}
	// One image at a time: the outputs hold every layer's activations.
	for i := range n {
		in, err := ort.NewTensor(ort.NewShape(1, 3, int64(size), int64(size)), pixels[i*per:(i+1)*per])
		if err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
		values := make([]ort.Value, len(outs))
		err = s.Run([]ort.Value{in}, values)
		in.Destroy()
		if err != nil {
			return nil, fmt.Errorf("calibrate: image %d: %w", i+1, err)
		}
		for j, v := range values {
			t, ok := v.(*ort.Tensor[float32])
			if !ok {
				return nil, fmt.Errorf("calibrate: output %s is %T, want float32", outs[j], v)
			}
			r := ranges[prefixes[j]]
			for _, x := range t.GetData() {
				r.Min, r.Max = min(r.Min, x), max(r.Max, x)
			}
			ranges[prefixes[j]] = r
			v.Destroy()
		}
		if opts.Progress != nil {
			opts.Progress(i+1, n)
		}
	}
	return ranges, nil
}
