package calibrate

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
	"github.com/linesight/linesight/pipeline/clip/toolchain/reference"
)

// midModel is big enough for quantization error to show: width 256, four
// layers of 8 heads, 64 px images in 16 px patches.
func midModel(t *testing.T) (arch.Config, arch.Weights) {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ProjectionDim = 128
	v := &cfg.VisionConfig
	v.HiddenSize, v.IntermediateSize, v.NumHiddenLayers, v.NumAttentionHeads = 256, 1024, 4, 8
	v.ImageSize, v.PatchSize = 64, 16
	return cfg, arch.RandomWeights(cfg, 11)
}

func pixels(cfg arch.Config, n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	px := make([]float32, n*3*cfg.VisionConfig.ImageSize*cfg.VisionConfig.ImageSize)
	for i := range px {
		px[i] = float32(rng.NormFloat64()) // normalised pixels are roughly unit scale
	}
	return px
}

// Every linear layer of the vision tower gets a finite, non-empty range.
func TestVisionRangesCoverEveryLayer(t *testing.T) {
	if err := engine.Init(testenv.RequireORT(t)); err != nil {
		t.Fatal(err)
	}
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	w := arch.RandomWeights(cfg, 3)
	var done int
	ranges, err := Vision(cfg, w, pixels(cfg, 6, 1), 6, Options{Threads: 2, Progress: func(d, total int) { done = d }})
	if err != nil {
		t.Fatal(err)
	}
	if done != 6 {
		t.Errorf("progress reached %d of 6", done)
	}
	// q, k, v, out_proj, fc1, fc2 per layer, and the visual projection.
	if want := 6*cfg.VisionConfig.NumHiddenLayers + 1; len(ranges) != want {
		t.Errorf("%d ranges, want %d: %v", len(ranges), want, ranges)
	}
	for p, r := range ranges {
		if !(r.Min < r.Max) || math.IsInf(float64(r.Min), 0) || math.IsInf(float64(r.Max), 0) {
			t.Errorf("%s: range [%g, %g]", p, r.Min, r.Max)
		}
	}
	if _, err := Vision(cfg, w, pixels(cfg, 2, 1), 3, Options{}); err == nil {
		t.Error("3 images from 2 images' pixels accepted")
	}
}

// The int8static tower, calibrated on some images, judges other images as
// the fp32 reference does: embeddings within the cosine the dynamic int8
// variants keep.
func TestStaticInt8AgreesWithReference(t *testing.T) {
	if err := engine.Init(testenv.RequireORT(t)); err != nil {
		t.Fatal(err)
	}
	cfg, w := midModel(t)
	ranges, err := Vision(cfg, w, pixels(cfg, 16, 1), 16, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graph.Build(cfg, w, arch.Vision, graph.Options{Variant: graph.INT8Static}); err == nil {
		t.Fatal("int8static without ranges built")
	}
	const n = 4
	px := pixels(cfg, n, 2) // never calibrated on
	ref, err := reference.Vision(cfg, w, px, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []graph.Variant{graph.INT8Static, graph.INT8VNNI} {
		m, err := graph.Build(cfg, w, arch.Vision, graph.Options{Variant: v, Ranges: ranges})
		if err != nil {
			t.Fatal(err)
		}
		got := run(t, m, cfg, px, n)
		cos := minCosine(got, ref.Embeds, ref.Dim)
		t.Logf("%s: lowest cosine to the fp32 reference %.5f", v, cos)
		if cos < 0.99 {
			t.Errorf("%s: cosine %.5f to the reference, want at least 0.99", v, cos)
		}
	}
	// The static graph quantizes with fixed scales: no run-time range, in
	// every linear layer the calibration graph measured.
	m, err := graph.Build(cfg, w, arch.Vision, graph.Options{Variant: graph.INT8Static, Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, nd := range m.Graph.Nodes {
		ops[nd.OpType]++
	}
	c, err := graph.Build(cfg, w, arch.Vision, graph.Options{CalibrationOutputs: true})
	if err != nil {
		t.Fatal(err)
	}
	linears := 0
	for _, o := range c.Graph.Outputs {
		if _, ok := graph.CalibrationPrefix(o.Name); ok {
			linears++
		}
	}
	if ops["MatMulIntegerToFloat"] != linears || ops["QuantizeLinear"] != linears || ops["DynamicQuantizeMatMul"] != 0 {
		t.Errorf("ops %v: want all %d linear layers static", ops, linears)
	}
}

func run(t *testing.T, m *onnxproto.Model, cfg arch.Config, px []float32, n int) []float32 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vision.onnx")
	if err := m.Save(path, onnxproto.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSession(path, []string{graph.InputPixels}, []string{graph.OutputImageEmbeds}, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime rejected the model: %v", err)
	}
	defer destroy(t, "the session", s)
	size := int64(cfg.VisionConfig.ImageSize)
	in, err := ort.NewTensor(ort.NewShape(int64(n), 3, size, size), px)
	if err != nil {
		t.Fatal(err)
	}
	defer destroy(t, "the input tensor", in)
	out := []ort.Value{nil}
	if err := s.Run([]ort.Value{in}, out); err != nil {
		t.Fatal(err)
	}
	defer destroy(t, "the output tensor", out[0])
	return append([]float32(nil), out[0].(*ort.Tensor[float32]).GetData()...)
}

// destroy frees what ONNX Runtime holds for d, failing the test if it cannot.
func destroy(t *testing.T, what string, d interface{ Destroy() error }) {
	t.Helper()
	if err := d.Destroy(); err != nil {
		t.Errorf("destroying %s: %v", what, err)
	}
}

// minCosine is the lowest cosine between rows of got and want.
func minCosine(got []float32, want []float64, width int) float64 {
	lowest := 1.0
	for r := 0; r*width < len(want); r++ {
		var dot, ng, nw float64
		for i := r * width; i < (r+1)*width; i++ {
			dot += float64(got[i]) * want[i]
			ng += float64(got[i]) * float64(got[i])
			nw += want[i] * want[i]
		}
		lowest = min(lowest, dot/math.Sqrt(ng*nw))
	}
	return lowest
}
