package engine

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
	"github.com/linesight/linesight/pipeline/clip/toolchain/reference"
)

func TestMain(m *testing.M) {
	testenv.MainRequireORT()
	if err := Init(""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func tiny(t *testing.T) (arch.Config, arch.Weights) {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, arch.RandomWeights(cfg, 3)
}

// refVision runs the reference vision tower on a batch of n images.
func refVision(t *testing.T, cfg arch.Config, w arch.Weights, px []float32, n int) *reference.Trace {
	t.Helper()
	ref, err := reference.Vision(cfg, w, px, n)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// save builds a tower, lets edit change it, and writes it to a temp file.
func save(t *testing.T, cfg arch.Config, w arch.Weights, tower arch.Tower, opts graph.Options, edit func(*onnxproto.Model)) string {
	t.Helper()
	m, err := graph.Build(cfg, w, tower, opts)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	path := filepath.Join(t.TempDir(), string(tower)+".onnx")
	if err := m.Save(path, onnxproto.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

func pixels(cfg arch.Config, n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0))
	s := cfg.VisionConfig.ImageSize
	px := make([]float32, n*3*s*s)
	for i := range px {
		px[i] = float32(rng.NormFloat64())
	}
	return px
}

func cosine(a []float32, b []float64) float64 {
	a64 := make([]float64, len(a))
	for i, v := range a {
		a64[i] = float64(v)
	}
	return reference.Cosine(a64, b)
}

func checkRows(t *testing.T, what string, got []float32, want []float64, dim int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference has %d", what, len(got), len(want))
	}
	for r := 0; r < len(want)/dim; r++ {
		if c := cosine(got[r*dim:(r+1)*dim], want[r*dim:(r+1)*dim]); c < 0.9999 {
			t.Errorf("%s row %d: cosine to reference %.6f, want >= 0.9999", what, r, c)
		}
	}
}

func TestVisionEmbedsMatchReferenceAndReuseTensors(t *testing.T) {
	cfg, w := tiny(t)
	v, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{}, nil), SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if h, wd := v.InputSize(); h != cfg.VisionConfig.ImageSize || wd != h || v.Dim() != cfg.ProjectionDim {
		t.Fatalf("interface: %dx%d dim %d, want %d square, dim %d", h, wd, v.Dim(), cfg.VisionConfig.ImageSize, cfg.ProjectionDim)
	}
	if v.Provider() != "cpu" {
		t.Errorf("provider %q, want cpu", v.Provider())
	}

	buf := pixels(cfg, 2, 1)
	ref, err := reference.Vision(cfg, w, buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Embed(buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, "first call", got, ref.Embeds, v.Dim())

	// Same buffer, new contents: the cached input tensor must see them.
	copy(buf, pixels(cfg, 2, 2))
	ref2 := refVision(t, cfg, w, buf, 2)
	got2, err := v.Embed(buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, "reused buffer", got2, ref2.Embeds, v.Dim())
	if &got[0] != &got2[0] {
		t.Error("output tensor was reallocated for the same batch size")
	}

	// A different buffer of another batch size.
	one := pixels(cfg, 1, 3)
	ref3 := refVision(t, cfg, w, one, 1)
	got3, err := v.Embed(one, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, "batch 1", got3, ref3.Embeds, v.Dim())

	// Back to the first buffer: its tensors are still bound, and see new contents.
	copy(buf, pixels(cfg, 2, 4))
	ref4 := refVision(t, cfg, w, buf, 2)
	got4, err := v.Embed(buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, "first buffer again", got4, ref4.Embeds, v.Dim())
	if &got4[0] != &got[0] {
		t.Error("tensors of the first buffer were not reused")
	}

	if _, err := v.Embed(one, 2); err == nil || !strings.Contains(err.Error(), "need") {
		t.Errorf("short buffer: got %v, want an error saying how many values are needed", err)
	}
}

func TestVisionAllocatesNothingPerCall(t *testing.T) {
	cfg, w := tiny(t)
	v, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{}, nil), SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	buf := pixels(cfg, 4, 1)
	if _, err := v.Embed(buf, 4); err != nil {
		t.Fatal(err)
	}
	// onnxruntime_go builds two small C-pointer slices per Run and one
	// handle per tensor (the input and each output: the embedding and the
	// patch outputs); nothing scales with the batch.
	allocs := testing.AllocsPerRun(5, func() { _, err = v.Embed(buf, 4) })
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + 1 + len(v.outputs); allocs > float64(want) {
		t.Errorf("%.0f allocations per Embed, want at most %d", allocs, want)
	}
}

func TestTextAdaptsToModelInterface(t *testing.T) {
	cfg, w := tiny(t)
	ids := [][]int64{make([]int64, 77), make([]int64, 77)}
	copy(ids[0], []int64{49406, 320, 1125, 539, 49407})
	copy(ids[1], []int64{49406, 1929, 49407})
	ref, err := reference.Text(cfg, w, ids)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts graph.Options
	}{
		{"int64 ids", graph.Options{}},
		{"int32 ids with attention_mask", graph.Options{InputIDsType: onnxproto.Int32, AttentionMask: true}},
		{"int64 ids with attention_mask", graph.Options{AttentionMask: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			txt, err := OpenText(save(t, cfg, w, arch.Text, c.opts, nil), 77, SessionOptions{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer txt.Close()
			if txt.Context() != 77 {
				t.Errorf("context %d, want 77", txt.Context())
			}
			got, err := txt.Embed(ids)
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, c.name, got, ref.Embeds, txt.Dim())
			if _, err := txt.Embed([][]int64{{49406, 49407}}); err == nil {
				t.Error("a row shorter than the context was accepted")
			}
		})
	}
}

// rename gives a graph output another name, as other exporters do.
func rename(from, to string) func(*onnxproto.Model) {
	return func(m *onnxproto.Model) {
		for _, o := range m.Graph.Outputs {
			if o.Name == from {
				o.Name = to
			}
		}
		for _, n := range m.Graph.Nodes {
			for i, out := range n.Outputs {
				if out == from {
					n.Outputs[i] = to
				}
			}
		}
	}
}

func TestOutputDiscovery(t *testing.T) {
	cfg, w := tiny(t)
	t.Run("image_embeds among many outputs", func(t *testing.T) {
		v, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{DebugOutputs: true}, nil), SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if v.output != "image_embeds" {
			t.Errorf("picked %q, want image_embeds", v.output)
		}
	})
	t.Run("single output under another name", func(t *testing.T) {
		path := save(t, cfg, w, arch.Vision, graph.Options{}, rename("image_embeds", "output_0"))
		v, err := OpenVision(path, SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		px := pixels(cfg, 1, 9)
		ref := refVision(t, cfg, w, px, 1)
		got, err := v.Embed(px, 1)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, "output_0", got, ref.Embeds, v.Dim())
	})
	t.Run("the one rank-2 output among hidden states", func(t *testing.T) {
		path := save(t, cfg, w, arch.Text, graph.Options{DebugOutputs: true}, rename("text_embeds", "pooled"))
		txt, err := OpenText(path, 77, SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer txt.Close()
		if txt.Dim() != cfg.ProjectionDim {
			t.Errorf("dim %d, want %d", txt.Dim(), cfg.ProjectionDim)
		}
	})
	t.Run("ambiguous outputs are an error", func(t *testing.T) {
		// Two [batch, dim] outputs and neither is called text_embeds.
		twoOutputs := func(m *onnxproto.Model) {
			rename("text_embeds", "pooled")(m)
			m.Graph.Nodes = append(m.Graph.Nodes, &onnxproto.Node{Name: "copy", OpType: "Identity", Inputs: []string{"pooled"}, Outputs: []string{"pooled_copy"}})
			out := *m.Graph.Outputs[0]
			for _, o := range m.Graph.Outputs {
				if o.Name == "pooled" {
					out = *o
				}
			}
			out.Name = "pooled_copy"
			m.Graph.Outputs = append(m.Graph.Outputs, &out)
		}
		_, err := OpenText(save(t, cfg, w, arch.Text, graph.Options{}, twoOutputs), 77, SessionOptions{})
		if err == nil || !strings.Contains(err.Error(), "text_embeds") || !strings.Contains(err.Error(), "pooled_copy") {
			t.Errorf("got %v, want an error naming the wanted output and listing the outputs", err)
		}
	})
}

func TestWrongInterfacesAreClearErrors(t *testing.T) {
	cfg, w := tiny(t)
	dynamicSize := func(m *onnxproto.Model) {
		m.Graph.Inputs[0].Shape[2] = onnxproto.Symbolic("height")
	}
	_, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{}, dynamicSize), SessionOptions{})
	if err == nil || !strings.Contains(err.Error(), "fixed height and width") {
		t.Errorf("dynamic image size: got %v", err)
	}
	// A text model handed to the vision loader.
	_, err = OpenVision(save(t, cfg, w, arch.Text, graph.Options{}, nil), SessionOptions{})
	if err == nil || !strings.Contains(err.Error(), "input_ids") {
		t.Errorf("text model as vision: got %v, want an error naming the input", err)
	}
	_, err = OpenVision(filepath.Join(t.TempDir(), "missing.onnx"), SessionOptions{})
	if err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing file: got %v, want an error naming it", err)
	}
}

func TestUnavailableProvidersFallBackWithReasons(t *testing.T) {
	cfg, w := tiny(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	providers, err := ParseProviders("tensorrt,cuda")
	if err != nil {
		t.Fatal(err)
	}
	v, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{}, nil), SessionOptions{Providers: providers, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// The CPU build of ONNX Runtime has neither GPU provider.
	if v.Provider() != "cpu" {
		t.Fatalf("provider %q, want the cpu fallback", v.Provider())
	}
	for _, p := range []string{"provider=tensorrt", "provider=cuda", "provider=cpu"} {
		if !strings.Contains(logs.String(), p) {
			t.Errorf("log does not mention %s:\n%s", p, logs.String())
		}
	}
}

func TestProviderConfig(t *testing.T) {
	if _, err := ParseProviders("tensorrt,openvino"); err == nil || !strings.Contains(err.Error(), "openvino") {
		t.Errorf("unknown provider: got %v", err)
	}
	if err := (Provider{Name: "tensorrt", MinBatch: 8, MaxBatch: 4}).Validate(); err == nil {
		t.Error("min_batch above max_batch was accepted")
	}
	p := Provider{Name: "tensorrt", FP16: true, EngineCacheDir: "cache", WorkspaceMB: 2048, MaxBatch: 8, OptBatch: 4}
	o := p.tensorRTOptions("pixel_values", []int64{3, 224, 224})
	want := map[string]string{
		"trt_fp16_enable":         "1",
		"trt_int8_enable":         "0",
		"trt_engine_cache_enable": "1",
		"trt_engine_cache_path":   "cache",
		"trt_max_workspace_size":  "2147483648",
		"trt_profile_min_shapes":  "pixel_values:1x3x224x224",
		"trt_profile_opt_shapes":  "pixel_values:4x3x224x224",
		"trt_profile_max_shapes":  "pixel_values:8x3x224x224",
	}
	for k, v := range want {
		if o[k] != v {
			t.Errorf("%s = %q, want %q", k, o[k], v)
		}
	}
	c := Provider{Name: "cuda", DeviceID: 1, MemoryLimitMB: 512}.cudaOptions()
	if c["device_id"] != "1" || c["gpu_mem_limit"] != "536870912" {
		t.Errorf("cuda options %v", c)
	}
}

// withoutPatchOutputs drops the patch outputs, as a model exported
// elsewhere or written before them has none.
func withoutPatchOutputs(m *onnxproto.Model) {
	m.Graph.Outputs = m.Graph.Outputs[:1]
}

func TestPatchOutputsComeFromTheSameRun(t *testing.T) {
	cfg, w := tiny(t)
	v, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{PatchLayers: []int{1, 0}}, nil), SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	vc := cfg.VisionConfig
	g, n, width := vc.Grid(), vc.NumPatches(), vc.HiddenSize
	if !slices.Equal(v.PatchLayers(), []int{0, 1}) || !v.HasPatchEmbeds() || v.Grid() != g || v.PatchWidth() != width {
		t.Fatalf("discovered layers %v, embeds %v, grid %d, width %d; want [0 1], true, %d, %d",
			v.PatchLayers(), v.HasPatchEmbeds(), v.Grid(), v.PatchWidth(), g, width)
	}
	if err := v.CheckPatchOutputs([]int{0, 1}, true); err != nil {
		t.Errorf("check of the layers it has: %v", err)
	}

	buf := pixels(cfg, 2, 5)
	ref, err := reference.Vision(cfg, w, buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.EmbedPatches(buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, "image_embeds", p.Embeds, ref.Embeds, v.Dim())
	for i, l := range v.PatchLayers() {
		var want []float64
		for b := 0; b < 2; b++ {
			want = append(want, ref.Hidden[l][(b*(n+1)+1)*width:(b+1)*(n+1)*width]...)
		}
		checkRows(t, fmt.Sprintf("patch tokens of layer %d", l), p.Tokens[i], want, width)
	}
	checkRows(t, "patch_embeds", p.Dense, ref.PatchEmbeds, v.Dim())

	// Embed is the same run: its embeddings are the patch run's.
	e, err := v.Embed(buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	if &e[0] != &p.Embeds[0] {
		t.Error("Embed and EmbedPatches use different output tensors for the same batch")
	}
}

func TestMissingPatchOutputsAreExplained(t *testing.T) {
	cfg, w := tiny(t)
	v, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{}, withoutPatchOutputs), SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.PatchLayers() != nil || v.HasPatchEmbeds() || v.Grid() != 0 {
		t.Errorf("found patch outputs in a model without them: layers %v, embeds %v, grid %d", v.PatchLayers(), v.HasPatchEmbeds(), v.Grid())
	}
	for _, c := range []struct {
		layers []int
		embeds bool
	}{{[]int{1}, false}, {nil, true}} {
		err := v.CheckPatchOutputs(c.layers, c.embeds)
		if err == nil || !strings.Contains(err.Error(), "no patch outputs") || !strings.Contains(err.Error(), "Image-level scoring works") {
			t.Errorf("layers %v embeds %v: got %v, want an error saying the outputs are missing and image-level scoring works", c.layers, c.embeds, err)
		}
	}
	// Image-level embedding still works.
	px := pixels(cfg, 1, 6)
	ref := refVision(t, cfg, w, px, 1)
	got, err := v.Embed(px, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, "image_embeds", got, ref.Embeds, v.Dim())

	// A layer the model does not export is named with the ones it does.
	v2, err := OpenVision(save(t, cfg, w, arch.Vision, graph.Options{PatchLayers: []int{1}}, nil), SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if err := v2.CheckPatchOutputs([]int{0}, false); err == nil || !strings.Contains(err.Error(), "layers 1, not of layer 0") {
		t.Errorf("unexported layer: got %v", err)
	}
}
