package graph

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/reference"
)

// tinyConfig is the tiny preset's architecture.
func tinyConfig(t testing.TB) arch.Config {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func tinyModel(t testing.TB) (arch.Config, arch.Weights) {
	t.Helper()
	cfg := tinyConfig(t)
	return cfg, arch.RandomWeights(cfg, 7)
}

// midModel is big enough that quantization and float16 errors would show:
// width 256, 4 layers, 8 heads, 64 px images in 16 px patches.
func midModel(t testing.TB) (arch.Config, arch.Weights) {
	t.Helper()
	cfg := tinyConfig(t)
	cfg.ProjectionDim = 128
	v := &cfg.VisionConfig
	v.HiddenSize, v.IntermediateSize, v.NumHiddenLayers, v.NumAttentionHeads = 256, 1024, 4, 8
	v.ImageSize, v.PatchSize = 64, 16
	tc := &cfg.TextConfig
	tc.HiddenSize, tc.IntermediateSize, tc.NumHiddenLayers, tc.NumAttentionHeads = 256, 1024, 4, 8
	return cfg, arch.RandomWeights(cfg, 11)
}

type namedModel struct {
	name string
	cfg  arch.Config
	w    arch.Weights
}

// accuracyModels are the models variant accuracy is checked on: tiny, and
// the mid-size one unless -short.
func accuracyModels(t testing.TB) []namedModel {
	tcfg, tw := tinyModel(t)
	models := []namedModel{{"tiny", tcfg, tw}}
	if !testing.Short() {
		mcfg, mw := midModel(t)
		models = append(models, namedModel{"mid", mcfg, mw})
	}
	return models
}

func build(t testing.TB, cfg arch.Config, w arch.Weights, tower arch.Tower, opts Options) *onnxproto.Model {
	t.Helper()
	m, err := Build(cfg, w, tower, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVisionMatchesReference(t *testing.T) {
	cfg, w := tinyModel(t)
	s := newSession(t, build(t, cfg, w, arch.Vision, Options{DebugOutputs: true}), onnxproto.SaveOptions{})
	// Without debug outputs the last layer computes only the class token.
	lean := newSession(t, build(t, cfg, w, arch.Vision, Options{}), onnxproto.SaveOptions{})
	for _, batch := range []int{1, 3} {
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) {
			px := randomPixels(cfg, batch, uint64(batch))
			ref, err := reference.Vision(cfg, w, px, batch)
			if err != nil {
				t.Fatal(err)
			}
			got := s.run(t, floatInput(t, pixelShape(cfg, batch), px))
			// Layer by layer first, so a wrong layer is named before the
			// embeddings disagree.
			for i, h := range ref.Hidden {
				compareRows(t, fmt.Sprintf("hidden_states.%d", i), got[fmt.Sprintf("hidden_states.%d", i)], h, ref.Width, 1e-4, 0.99999)
			}
			compareRows(t, "image_embeds", got["image_embeds"], ref.Embeds, ref.Dim, 1e-4, 0.9999)
			leanGot := lean.run(t, floatInput(t, pixelShape(cfg, batch), px))
			compareRows(t, "image_embeds (no debug outputs)", leanGot["image_embeds"], ref.Embeds, ref.Dim, 1e-4, 0.9999)
		})
	}
}

// A tower with pruned heads (fewer heads than hidden_size / head_dim) runs
// as the reference says, in every variant the builder makes.
func TestVisionWithFewerHeadsMatchesReference(t *testing.T) {
	cfg := tinyConfig(t)
	vc := &cfg.VisionConfig
	vc.HeadDim, vc.NumAttentionHeads = vc.HiddenSize/vc.NumAttentionHeads, vc.NumAttentionHeads-1
	w := arch.RandomWeights(cfg, 5)
	px := randomPixels(cfg, 2, 9)
	ref, err := reference.Vision(cfg, w, px, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []Variant{FP32, FP16, INT8} {
		s := newSession(t, build(t, cfg, w, arch.Vision, Options{Variant: v}), onnxproto.SaveOptions{})
		got := s.run(t, floatInput(t, pixelShape(cfg, 2), px))
		// float32 to the reference's tolerance; the others by direction.
		maxRel, cos := 1e-4, 0.9999
		if v != FP32 {
			maxRel, cos = 1, map[Variant]float64{FP16: 0.999, INT8: 0.99}[v]
		}
		compareRows(t, fmt.Sprintf("%s image_embeds", v), got["image_embeds"], ref.Embeds, ref.Dim, maxRel, cos)
	}
}

func TestTextMatchesReference(t *testing.T) {
	cfg, w := tinyModel(t)
	s := newSession(t, build(t, cfg, w, arch.Text, Options{DebugOutputs: true}), onnxproto.SaveOptions{})
	cases := []struct {
		seq int
		eot []int
	}{
		{77, []int{5}},
		{77, []int{3, 76, 40}},
		{9, []int{8, 2, 5}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("seq%d_eot%v", c.seq, c.eot), func(t *testing.T) {
			ids := tokenRows(cfg, c.seq, c.eot, uint64(c.seq))
			ref, err := reference.Text(cfg, w, ids)
			if err != nil {
				t.Fatal(err)
			}
			got := s.run(t, idsInput(t, ids, onnxproto.Int64))
			for i, h := range ref.Hidden {
				compareRows(t, fmt.Sprintf("hidden_states.%d", i), got[fmt.Sprintf("hidden_states.%d", i)], h, ref.Width, 1e-4, 0.99999)
			}
			compareRows(t, "text_embeds", got["text_embeds"], ref.Embeds, ref.Dim, 1e-4, 0.9999)
		})
	}
}

func TestGELUActivation(t *testing.T) {
	cfg, _ := tinyModel(t)
	cfg.VisionConfig.HiddenAct, cfg.TextConfig.HiddenAct = "gelu", "gelu"
	w := arch.RandomWeights(cfg, 3)
	px := randomPixels(cfg, 2, 9)
	vref, err := reference.Vision(cfg, w, px, 2)
	if err != nil {
		t.Fatal(err)
	}
	ids := tokenRows(cfg, 77, []int{10, 20}, 4)
	tref, err := reference.Text(cfg, w, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		variant Variant
		maxRel  float64
		minCos  float64
	}{{FP32, 1e-4, 0.9999}, {FP16, 1, 0.999}, {INT8, 1, 0.99}} {
		t.Run(c.variant.String(), func(t *testing.T) {
			vs := newSession(t, build(t, cfg, w, arch.Vision, Options{Variant: c.variant}), onnxproto.SaveOptions{})
			compareRows(t, "image_embeds", vs.run(t, floatInput(t, pixelShape(cfg, 2), px))["image_embeds"], vref.Embeds, vref.Dim, c.maxRel, c.minCos)
			ts := newSession(t, build(t, cfg, w, arch.Text, Options{Variant: c.variant}), onnxproto.SaveOptions{})
			compareRows(t, "text_embeds", ts.run(t, idsInput(t, ids, onnxproto.Int64))["text_embeds"], tref.Embeds, tref.Dim, c.maxRel, c.minCos)
		})
	}
}

func TestTextInt32IDsAndAttentionMask(t *testing.T) {
	cfg, w := tinyModel(t)
	m := build(t, cfg, w, arch.Text, Options{InputIDsType: onnxproto.Int32, AttentionMask: true})
	if got := m.Graph.Inputs; len(got) != 2 || got[0].Name != "input_ids" || got[1].Name != "attention_mask" ||
		got[0].ElemType != onnxproto.Int32 || got[1].ElemType != onnxproto.Int32 {
		t.Fatalf("inputs: %+v %+v", got[0], got[len(got)-1])
	}
	s := newSession(t, m, onnxproto.SaveOptions{})
	eot := []int{4, 30}
	ids := tokenRows(cfg, 77, eot, 5)
	ref, err := reference.Text(cfg, w, ids)
	if err != nil {
		t.Fatal(err)
	}

	ones := make([][]int64, len(ids))
	padded := make([][]int64, len(ids))
	for i := range ids {
		ones[i], padded[i] = make([]int64, 77), make([]int64, 77)
		for j := range ones[i] {
			ones[i][j] = 1
			if j <= eot[i] {
				padded[i][j] = 1
			}
		}
	}
	full := s.run(t, idsInput(t, ids, onnxproto.Int32), idsInput(t, ones, onnxproto.Int32))["text_embeds"]
	compareRows(t, "text_embeds (mask of ones)", full, ref.Embeds, ref.Dim, 1e-4, 0.9999)
	// Hiding the padding after EOT changes nothing: causal attention never
	// lets EOT see it.
	masked := s.run(t, idsInput(t, ids, onnxproto.Int32), idsInput(t, padded, onnxproto.Int32))["text_embeds"]
	compareRows(t, "text_embeds (padding masked)", masked, ref.Embeds, ref.Dim, 1e-4, 0.9999)

	// Hiding a token before EOT must change the embedding, or the mask is
	// not wired in at all.
	holed := make([][]int64, len(ids))
	for i := range ones {
		holed[i] = append([]int64(nil), padded[i]...)
		holed[i][1] = 0
	}
	changed := s.run(t, idsInput(t, ids, onnxproto.Int32), idsInput(t, holed, onnxproto.Int32))["text_embeds"]
	if cos := minCosine(changed, ref.Embeds, ref.Dim); cos > 0.999999 {
		t.Errorf("masking a prompt token left the embedding unchanged (cosine %.7f)", cos)
	}
}

func TestVariantsAgreeWithReference(t *testing.T) {
	for _, md := range accuracyModels(t) {
		px := randomPixels(md.cfg, 2, 21)
		vref, err := reference.Vision(md.cfg, md.w, px, 2)
		if err != nil {
			t.Fatal(err)
		}
		ids := tokenRows(md.cfg, 77, []int{12, 60}, 22)
		tref, err := reference.Text(md.cfg, md.w, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			variant Variant
			minCos  float64
		}{{FP16, 0.999}, {INT8, 0.99}} {
			t.Run(md.name+"_"+c.variant.String(), func(t *testing.T) {
				vs := newSession(t, build(t, md.cfg, md.w, arch.Vision, Options{Variant: c.variant}), onnxproto.SaveOptions{})
				img := vs.run(t, floatInput(t, pixelShape(md.cfg, 2), px))["image_embeds"]
				vcos := minCosine(img, vref.Embeds, vref.Dim)
				ts := newSession(t, build(t, md.cfg, md.w, arch.Text, Options{Variant: c.variant}), onnxproto.SaveOptions{})
				txt := ts.run(t, idsInput(t, ids, onnxproto.Int64))["text_embeds"]
				tcos := minCosine(txt, tref.Embeds, tref.Dim)
				t.Logf("cosine to float64 reference: vision %.6f, text %.6f", vcos, tcos)
				if vcos < c.minCos || tcos < c.minCos {
					t.Errorf("cosine vision %.6f text %.6f, want >= %g", vcos, tcos, c.minCos)
				}
			})
		}
	}
}

func TestExternalDataLoadsAndAgrees(t *testing.T) {
	cfg, w := tinyModel(t)
	m := build(t, cfg, w, arch.Vision, Options{})
	inline := newSession(t, m, onnxproto.SaveOptions{})

	dir := t.TempDir()
	path := dir + "/vision_model.onnx"
	if err := m.Save(path, onnxproto.SaveOptions{ExternalAbove: 1}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(onnxproto.ExternalDataPath(path)); err != nil || st.Size() == 0 {
		t.Fatalf("no initializer went to the external data file: %v", err)
	}
	ext := openSession(t, path, m)

	px := randomPixels(cfg, 2, 5)
	a := inline.run(t, floatInput(t, pixelShape(cfg, 2), px))["image_embeds"]
	b := ext.run(t, floatInput(t, pixelShape(cfg, 2), px))["image_embeds"]
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("external-data model differs at %d: %g vs %g", i, b[i], a[i])
		}
	}
}

func TestGraphInterface(t *testing.T) {
	cfg, w := tinyModel(t)
	for _, tower := range []arch.Tower{arch.Vision, arch.Text} {
		for _, v := range []Variant{FP32, FP16, INT8} {
			t.Run(string(tower)+"_"+v.String(), func(t *testing.T) {
				g := build(t, cfg, w, tower, Options{Variant: v})
				in, out := g.Graph.Inputs[0], g.Graph.Outputs[0]
				wantIn, wantOut, wantInType := "pixel_values", "image_embeds", onnxproto.Float
				if tower == arch.Text {
					wantIn, wantOut, wantInType = "input_ids", "text_embeds", onnxproto.Int64
				}
				if in.Name != wantIn || in.ElemType != wantInType || in.Shape[0].Param != "batch_size" {
					t.Errorf("input %+v", in)
				}
				if out.Name != wantOut || out.ElemType != onnxproto.Float || out.Shape[0].Param != "batch_size" || out.Shape[1].Value != int64(cfg.ProjectionDim) {
					t.Errorf("output %+v", out)
				}
				checkInitializerNames(t, cfg, tower, g.Graph, v)
				checkOps(t, g.Graph, v)
			})
		}
	}
}

// checkInitializerNames: every parameter of the tower appears under its
// Hugging Face name, or with a suffix for a transposed or quantized copy.
func checkInitializerNames(t *testing.T, cfg arch.Config, tower arch.Tower, g *onnxproto.Graph, v Variant) {
	t.Helper()
	names := map[string]bool{}
	for _, init := range g.Initializers {
		if names[init.Name] {
			t.Errorf("initializer %q appears twice", init.Name)
		}
		names[init.Name] = true
	}
	for _, p := range cfg.Params(tower) {
		if !names[p.Name] && !names[p.Name+".T"] && !names[p.Name+"_quantized"] {
			t.Errorf("parameter %s is not among the initializers", p.Name)
		}
	}
}

func checkOps(t *testing.T, g *onnxproto.Graph, v Variant) {
	t.Helper()
	inits := map[string]*onnxproto.Tensor{}
	for _, init := range g.Initializers {
		inits[init.Name] = init
	}
	counts := map[string]int{}
	for _, n := range g.Nodes {
		counts[n.OpType]++
		if n.OpType == "MatMul" && inits[n.Inputs[1]] != nil && v == INT8 {
			t.Errorf("int8 graph keeps float MatMul %s with constant weight %s", n.Name, n.Inputs[1])
		}
		if n.OpType == "LayerNormalization" && inits[n.Inputs[1]].DataType != onnxproto.Float {
			t.Errorf("%s: layer norm weight is %s, want float32", n.Name, inits[n.Inputs[1]].DataType)
		}
	}
	if v == INT8 && counts["DynamicQuantizeMatMul"] == 0 {
		t.Error("int8 graph has no DynamicQuantizeMatMul")
	}
	if v != INT8 && counts["DynamicQuantizeMatMul"] != 0 {
		t.Errorf("%s graph has DynamicQuantizeMatMul", v)
	}
	if counts["Transpose"] > 0 {
		for _, n := range g.Nodes {
			if n.OpType == "Transpose" && inits[n.Inputs[0]] != nil {
				t.Errorf("%s transposes a weight at run time", n.Name)
			}
		}
	}
	halfWeights := 0
	for _, init := range g.Initializers {
		if init.DataType == onnxproto.Float16 {
			halfWeights++
		}
	}
	if (v == FP16) != (halfWeights > 0) {
		t.Errorf("%s graph has %d float16 initializers", v, halfWeights)
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	cfg, w := tinyModel(t)
	missing := arch.Weights{}
	for k, v := range w {
		missing[k] = v
	}
	delete(missing, "vision_model.encoder.layers.1.mlp.fc2.bias")

	misshaped := arch.Weights{}
	for k, v := range w {
		misshaped[k] = v
	}
	misshaped["text_model.encoder.layers.0.self_attn.k_proj.weight"] = &arch.Tensor{Shape: []int{32, 16}, Data: make([]float32, 512)}

	badCfg := cfg
	badCfg.VisionConfig.NumAttentionHeads = 5

	cases := []struct {
		name  string
		cfg   arch.Config
		w     arch.Weights
		tower arch.Tower
		opts  Options
		want  string
	}{
		{"missing weight", cfg, missing, arch.Vision, Options{}, "layers.1.mlp.fc2.bias"},
		{"misshaped weight", cfg, misshaped, arch.Text, Options{}, "k_proj.weight"},
		{"bad config", badCfg, w, arch.Vision, Options{}, "num_attention_heads"},
		{"bad ids type", cfg, w, arch.Text, Options{InputIDsType: onnxproto.Float}, "input_ids type"},
		{"bad variant", cfg, w, arch.Text, Options{Variant: Variant(9)}, "variant"},
		{"bad tower", cfg, w, arch.Tower("audio"), Options{}, "tower"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(c.cfg, c.w, c.tower, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
	// The text tower does not need vision weights.
	if _, err := Build(cfg, missing, arch.Text, Options{}); err != nil {
		t.Errorf("text build failed on a vision weight: %v", err)
	}
}

func TestParseVariant(t *testing.T) {
	for _, c := range []struct {
		in     string
		want   Variant
		suffix string
	}{{"fp32", FP32, ""}, {"FP16", FP16, "_fp16"}, {" int8 ", INT8, "_int8"}} {
		v, err := ParseVariant(c.in)
		if err != nil || v != c.want || v.Suffix() != c.suffix {
			t.Errorf("ParseVariant(%q) = %v, %v (suffix %q)", c.in, v, err, v.Suffix())
		}
	}
	if _, err := ParseVariant("int4"); err == nil {
		t.Error("ParseVariant accepted int4")
	}
}

func TestProgressReportsEveryLayer(t *testing.T) {
	cfg, w := tinyModel(t)
	var last [3]int
	var stage string
	build(t, cfg, w, arch.Vision, Options{Progress: func(s string, done, total int) {
		stage, last = s, [3]int{done, total, last[2] + 1}
	}})
	if stage != "vision layers" || last[0] != cfg.VisionConfig.NumHiddenLayers || last[1] != last[0] || last[2] != last[0] {
		t.Errorf("progress ended at stage %q %v", stage, last)
	}
}

func TestQuantizePerColumn(t *testing.T) {
	// Column 0 has small weights, column 1 large: each must use its own scale.
	w := []float32{
		0.01, 10,
		-0.02, -5,
		0.005, 2.5,
	}
	q, scales := quantizePerColumn(w, 3, 2)
	for j := 0; j < 2; j++ {
		for i := 0; i < 3; i++ {
			back := float32(q[i*2+j]) * scales[j]
			if d := back - w[i*2+j]; d > scales[j]/2 || d < -scales[j]/2 {
				t.Errorf("w[%d,%d]=%g comes back as %g (scale %g)", i, j, w[i*2+j], back, scales[j])
			}
		}
	}
	if q[1*2+0] != -int8WeightMax || q[0*2+1] != int8WeightMax {
		t.Errorf("column peaks not at the range ends: %v", q)
	}
}

func TestTranspose(t *testing.T) {
	// Sizes around the tile edge, with a known element pattern.
	for _, dims := range [][2]int{{1, 1}, {3, 5}, {32, 32}, {33, 70}, {100, 31}} {
		rows, cols := dims[0], dims[1]
		m := make([]float32, rows*cols)
		for i := range m {
			m[i] = float32(i)
		}
		tr := transpose(m, rows, cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if tr[c*rows+r] != float32(r*cols+c) {
					t.Fatalf("%dx%d: t[%d][%d] = %g, want %d", rows, cols, c, r, tr[c*rows+r], r*cols+c)
				}
			}
		}
	}
}

// TestPatchOutputs: every variant's vision graph returns the patch tokens
// of the memory layers and the dense patch embeddings, matching the float64
// reference, and records the layers in its metadata.
func TestPatchOutputs(t *testing.T) {
	for _, md := range accuracyModels(t) {
		px := randomPixels(md.cfg, 2, 31)
		ref, err := reference.Vision(md.cfg, md.w, px, 2)
		if err != nil {
			t.Fatal(err)
		}
		vc := md.cfg.VisionConfig
		layers := vc.DefaultMemoryLayers()
		n := vc.NumPatches()
		for _, c := range []struct {
			variant        Variant
			maxRel, minCos float64
		}{
			{FP32, 1e-4, 0.99999}, {FP16, 2e-2, 0.999}, {INT8, 0.1, 0.99},
			{INT8Weights, 0.1, 0.99}, {INT8Blocks, 0.1, 0.99}, {INT8VNNI, 0.1, 0.99},
		} {
			t.Run(md.name+"_"+c.variant.String(), func(t *testing.T) {
				m := build(t, md.cfg, md.w, arch.Vision, Options{Variant: c.variant})
				if got := metadata(m, PatchLayersMetadata); got != joinInts(layers) {
					t.Errorf("metadata %s = %q, want %q", PatchLayersMetadata, got, joinInts(layers))
				}
				out := newSession(t, m, onnxproto.SaveOptions{}).run(t, floatInput(t, pixelShape(md.cfg, 2), px))
				for _, l := range layers {
					name := fmt.Sprintf("%s%d", PatchTokensOutput, l)
					got, ok := out[name]
					if !ok {
						t.Fatalf("no output %s among %d outputs", name, len(out))
					}
					compareRows(t, name, got, patchRows(ref.Hidden[l], 2, n+1, vc.HiddenSize), vc.HiddenSize, c.maxRel, c.minCos)
				}
				compareRows(t, OutputPatchEmbeds, out[OutputPatchEmbeds], ref.PatchEmbeds, md.cfg.ProjectionDim, c.maxRel, c.minCos)
				if len(out) != 2+len(layers) {
					t.Errorf("%d outputs, want image_embeds, %d patch token outputs and patch_embeds", len(out), len(layers))
				}
			})
		}
	}
}

func TestPatchLayersOption(t *testing.T) {
	cfg, w := tinyModel(t) // 2 blocks: layers 0 and 1 have every position
	m := build(t, cfg, w, arch.Vision, Options{PatchLayers: []int{1, 0, 1}})
	var names []string
	for _, o := range m.Graph.Outputs {
		names = append(names, o.Name)
	}
	if want := "image_embeds,patch_tokens.0,patch_tokens.1,patch_embeds"; strings.Join(names, ",") != want {
		t.Errorf("outputs %s, want %s", strings.Join(names, ","), want)
	}
	if got := metadata(m, PatchLayersMetadata); got != "0,1" {
		t.Errorf("metadata %q, want 0,1", got)
	}
	_, err := Build(cfg, w, arch.Vision, Options{PatchLayers: []int{2}})
	if err == nil || !strings.Contains(err.Error(), "patch layer 2") || !strings.Contains(err.Error(), "0..1") {
		t.Errorf("layer past the last block: got %v, want an error naming it and the range", err)
	}
	// The text tower has no patch outputs and ignores the option.
	if _, err := Build(cfg, w, arch.Text, Options{PatchLayers: []int{5}}); err != nil {
		t.Errorf("text tower: %v", err)
	}
}

func metadata(m *onnxproto.Model, key string) string {
	for _, e := range m.Metadata {
		if e.Key == key {
			return e.Value
		}
	}
	return ""
}

// patchRows drops the class token from a [batch, seq, width] hidden state.
func patchRows(h []float64, batch, seq, width int) []float64 {
	var out []float64
	for b := 0; b < batch; b++ {
		out = append(out, h[(b*seq+1)*width:(b+1)*seq*width]...)
	}
	return out
}
