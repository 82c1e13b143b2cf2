package clip_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/cli"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/internal/pyref"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/preprocess/cvmat"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
	"github.com/linesight/linesight/pipeline/clip/toolchain/safetensors"
)

// anomalyLine is one line of `linesight model anomaly`; a pointer tells a
// missing field from an empty one.
type anomalyLine struct {
	Image    string     `json:"image"`
	Grid     []int      `json:"grid"`
	FewShot  *[]float64 `json:"fewshot"`
	ZeroShot *[]float64 `json:"zeroshot"`
	Map      []float64  `json:"map"`
	Score    float64    `json:"score"`
}

type referenceLine struct {
	FewShot  []float64 `json:"fewshot"`
	ZeroShot []float64 `json:"zeroshot"`
	Map      []float64 `json:"map"`
	Score    float64   `json:"score"`
}

// anomalyArchitectures are the two models the command is checked on: the
// tiny preset (2 blocks, memory layer 1) and one of another width, depth,
// patch and grid (5 blocks, memory layers 2 and 3).
func anomalyArchitectures(t *testing.T) map[string]arch.Config {
	tiny, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	custom := tiny
	custom.ProjectionDim = 24
	v := &custom.VisionConfig
	v.HiddenSize, v.IntermediateSize, v.NumHiddenLayers, v.NumAttentionHeads = 48, 192, 5, 4
	v.ImageSize, v.PatchSize = 56, 14
	custom.TextConfig.NumHiddenLayers = 3
	return map[string]arch.Config{"tiny": tiny, "custom": custom}
}

// TestAnomalyCommandAgreesWithOpenAIReference runs `linesight model anomaly`
// on a bundle imported from weights made by an independent PyTorch CLIP in
// OpenAI's code layout, and compares every map with the maps that script
// computes from their definitions: within 1e-4 in fp32, looser in fp16 and
// int8.
func TestAnomalyCommandAgreesWithOpenAIReference(t *testing.T) {
	py := pyref.Python(t, "torch, numpy")
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range anomalyArchitectures(t) {
		t.Run(name, func(t *testing.T) { checkAnomalyCommand(t, py, tok, cfg) })
	}
}

func checkAnomalyCommand(t *testing.T, py string, tok *tokenizer.Tokenizer, cfg arch.Config) {
	dir := t.TempDir()
	side := cfg.VisionConfig.ImageSize
	layers := cfg.VisionConfig.DefaultMemoryLayers()
	lastLayer := layers[len(layers)-1:]
	images := testImages(t, dir, 7)
	goldenDir := filepath.Join(dir, "golden")
	if err := os.Mkdir(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	golden := testImages(t, goldenDir, 8)[:2]

	// Prompts: good = 0, 1; scratch = 2 and 4 (given apart); dent = 3.
	prompts := append(testPrompts(11), testPrompts(12)[0])
	classes := [][]int{{0, 1}, {2, 4}, {3}}
	promptArgs := []string{"--good", prompts[0], "--good", prompts[1],
		"--defect", "scratch=" + prompts[2], "--defect", "dent=" + prompts[3], "--defect", "scratch=" + prompts[4]}
	var ids [][]int64
	for _, p := range prompts {
		row, err := tok.Tokenize(p, 77)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, row)
	}

	// The pixels both sides see: LineSight's preprocessing with the
	// transform an imported bundle without preprocessor_config.json gets
	// (checked below), so the comparison is of the model and the maps.
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = side, side, side
	tensors := func(paths []string) []string {
		p := preprocess.New(pre)
		defer p.Close()
		var out []string
		buf := make([]float32, pre.TensorLen())
		for _, path := range paths {
			img, err := cvmat.LoadImageFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Image(img, buf); err != nil {
				t.Fatal(err)
			}
			raw := make([]byte, 4*len(buf))
			for i, v := range buf {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
			f := path + ".f32"
			if err := os.WriteFile(f, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			out = append(out, f)
		}
		return out
	}
	// Reference lines: the three images against both layer sets, then the
	// first golden image against the last memory layer alone.
	refDir := filepath.Join(dir, "reference")
	pyref.Run(t, py, filepath.Join("testdata", "openai_anomaly.py"), map[string]any{
		"out": refDir, "seed": 5, "config": json.RawMessage(cfg.JSON()), "logit_scale": math.Log(12),
		"layer_sets": [][]int{layers, lastLayer}, "golden": tensors(golden),
		"images": tensors(append(slices.Clone(images), golden[0])), "ids": ids, "classes": classes,
	})
	var ref struct {
		Runs       [][]referenceLine `json:"runs"`
		LogitScale float64           `json:"logit_scale"`
	}
	readJSON(t, filepath.Join(refDir, "reference.json"), &ref)

	modelDir := filepath.Join(dir, "model")
	runCLI(t, 0, "model", "import", "--from", filepath.Join(refDir, "hf"), "--out", modelDir, "--variants", "fp32,fp16,int8")
	b, err := bundle.Open(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Preprocess != pre {
		t.Fatalf("the imported bundle preprocesses with %+v, the reference pixels were made with %+v", b.Preprocess, pre)
	}
	if !slices.Equal(b.Provenance.PatchLayers, layers) {
		t.Errorf("bundle records patch layers %v, want %v", b.Provenance.PatchLayers, layers)
	}

	goldenArgs := []string{"--golden", golden[0], "--golden", golden[1]}
	g := side / cfg.VisionConfig.PatchSize

	t.Run("golden samples and prompts", func(t *testing.T) {
		for _, c := range []struct {
			variant string
			tol     float64
		}{{"fp32", 1e-4}, {"fp16", 5e-3}, {"int8", 0.1}} {
			t.Run(c.variant, func(t *testing.T) {
				args := append([]string{"model", "anomaly", "--bundle", modelDir, "--variant", c.variant}, goldenArgs...)
				lines := anomalyLines(t, runCLI(t, 0, append(append(args, promptArgs...), images...)...))
				if len(lines) != len(images) {
					t.Fatalf("%d lines for %d images", len(lines), len(images))
				}
				var worst float64
				defer func() { t.Logf("%s: largest difference from the reference %.2g", c.variant, worst) }()
				for i, l := range lines {
					if l.Image != images[i] || !slices.Equal(l.Grid, []int{g, g}) {
						t.Errorf("line %d: image %q grid %v, want %q [%d %d]", i, l.Image, l.Grid, images[i], g, g)
					}
					want := ref.Runs[0][i]
					if l.FewShot == nil || l.ZeroShot == nil {
						t.Fatalf("line %d lacks fewshot or zeroshot", i)
					}
					worst = max(worst,
						compareMap(t, fmt.Sprintf("image %d fewshot", i), *l.FewShot, want.FewShot, c.tol),
						compareMap(t, fmt.Sprintf("image %d zeroshot", i), *l.ZeroShot, want.ZeroShot, c.tol),
						compareMap(t, fmt.Sprintf("image %d map", i), l.Map, want.Map, c.tol),
						compareMap(t, fmt.Sprintf("image %d score", i), []float64{l.Score}, []float64{want.Score}, c.tol))
				}
			})
		}
		// Agreeing on flat maps would prove little.
		for i, r := range ref.Runs[0][:len(images)] {
			if spread(r.ZeroShot) < 0.05 || spread(r.FewShot) < 0.01 {
				t.Errorf("reference maps of image %d are nearly flat (zeroshot spread %.3f, fewshot %.3f)", i, spread(r.ZeroShot), spread(r.FewShot))
			}
		}
		// The command scores with the bundle's trained scale, the reference's.
		if scale, ok := b.Config.TrainedLogitScale(); !ok || math.Abs(scale-ref.LogitScale) > 1e-4*scale {
			t.Errorf("bundle logit scale %g (recorded %v), reference %g", scale, ok, ref.LogitScale)
		}
	})

	t.Run("golden samples alone, one layer", func(t *testing.T) {
		args := append([]string{"model", "anomaly", "--bundle", modelDir, "--layers", fmt.Sprint(lastLayer[0])}, goldenArgs...)
		lines := anomalyLines(t, runCLI(t, 0, append(args, images[0], golden[0])...))
		for i, want := range []referenceLine{ref.Runs[1][0], ref.Runs[1][len(images)]} {
			l := lines[i]
			if l.ZeroShot != nil || l.FewShot == nil {
				t.Fatalf("line %d: zeroshot present without prompts, or fewshot absent with golden images", i)
			}
			compareMap(t, fmt.Sprintf("line %d fewshot", i), *l.FewShot, want.FewShot, 1e-4)
			compareMap(t, fmt.Sprintf("line %d map", i), l.Map, *l.FewShot, 0)
			// The reference's map and score include its zero-shot map.
			compareMap(t, fmt.Sprintf("line %d score", i), []float64{l.Score}, []float64{slices.Max(want.FewShot)}, 1e-4)
		}
		// A golden image against its own bank: 0 everywhere.
		if s := lines[1].Score; s > 1e-6 {
			t.Errorf("golden image scores %g against its own bank, want 0", s)
		}
	})

	t.Run("a repeated layer counts once", func(t *testing.T) {
		// The memory layers are a set: 2,3,2 is S = {2, 3} (on the 5-block
		// model; the tiny one has the single layer 1).
		repeated := joinInts(layers) + "," + fmt.Sprint(layers[0])
		args := append([]string{"model", "anomaly", "--bundle", modelDir, "--layers", repeated}, goldenArgs...)
		l := anomalyLines(t, runCLI(t, 0, append(args, images[2])...))[0]
		compareMap(t, "fewshot", *l.FewShot, ref.Runs[0][2].FewShot, 1e-4)
	})

	t.Run("prompts alone", func(t *testing.T) {
		args := append([]string{"model", "anomaly", "--bundle", modelDir}, promptArgs...)
		lines := anomalyLines(t, runCLI(t, 0, append(args, images[1])...))
		l := lines[0]
		if l.FewShot != nil || l.ZeroShot == nil {
			t.Fatal("fewshot present without golden images, or zeroshot absent with prompts")
		}
		compareMap(t, "zeroshot", *l.ZeroShot, ref.Runs[0][1].ZeroShot, 1e-4)
		compareMap(t, "map", l.Map, *l.ZeroShot, 0)
	})

	t.Run("bad requests are clear errors", func(t *testing.T) {
		base := []string{"model", "anomaly", "--bundle", modelDir}
		for _, c := range []struct {
			args []string
			want string
		}{
			{append(append(slices.Clone(base), "--layers", "0"), append(goldenArgs, images[0])...),
				fmt.Sprintf("returns the patch tokens of layers %s, not of layer 0", joinInts(layers))},
			{append(slices.Clone(base), images[0]), "nothing to compare with"},
			{append(slices.Clone(base), "--good", "a part", images[0]), "needs both --good"},
			{append(slices.Clone(base), "--good", "a part", "--defect", "scratch", images[0]), `--defect "scratch": want NAME=PROMPT`},
			{append(slices.Clone(base), goldenArgs...), "need at least one IMAGE"},
			{append(slices.Clone(base), append([]string{"--layers", "1"}, append(promptArgs, images[0])...)...), "needs --golden IMAGE"},
		} {
			if out := runCLI(t, 1, c.args...); !strings.Contains(out, c.want) {
				t.Errorf("%s: got %q, want an error containing %q", strings.Join(c.args[2:], " "), out, c.want)
			}
		}
	})

	t.Run("a model without patch outputs", func(t *testing.T) {
		older := filepath.Join(dir, "older")
		runCLI(t, 0, "model", "import", "--from", filepath.Join(refDir, "hf"), "--out", older, "--variants", "fp32")
		stripPatchOutputs(t, filepath.Join(refDir, "hf"), filepath.Join(older, "onnx", "vision_model.onnx"))
		args := append([]string{"model", "anomaly", "--bundle", older}, goldenArgs...)
		out := runCLI(t, 1, append(args, images[0])...)
		if !strings.Contains(out, "no patch outputs") || !strings.Contains(out, "Image-level scoring works") {
			t.Errorf("got %q, want an error saying the model lacks the patch outputs", out)
		}
		// Image-level scoring goes on.
		runCLI(t, 0, "classify", "--bundle", older, "--prompt", prompts[0], "--prompt", prompts[2], images[0])
	})
}

// stripPatchOutputs rewrites a vision model as one built before the patch
// outputs, with image_embeds only.
func stripPatchOutputs(t *testing.T, checkpoint, path string) {
	t.Helper()
	c, w, err := safetensors.LoadCLIP(checkpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := graph.Build(c, w, arch.Vision, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Graph.Outputs = m.Graph.Outputs[:1]
	if err := m.Save(path, onnxproto.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
}

// runCLI runs a linesight command in this process and returns its stdout, or
// its stderr when the exit status is not 0; a status other than want fails.
func runCLI(t *testing.T, want int, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != want {
		t.Fatalf("linesight %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, errb.String())
	}
	if code != 0 {
		return errb.String()
	}
	return out.String()
}

func anomalyLines(t *testing.T, out string) []anomalyLine {
	t.Helper()
	var lines []anomalyLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l anomalyLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// compareMap checks got against want value by value and returns the
// largest difference.
func compareMap(t *testing.T, what string, got, want []float64, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference %d", what, len(got), len(want))
	}
	var worst float64
	for i := range got {
		worst = math.Max(worst, math.Abs(got[i]-want[i]))
	}
	if worst > tol || math.IsNaN(worst) {
		t.Errorf("%s: differs from the reference by up to %.2g, want <= %g", what, worst, tol)
	}
	return worst
}

func spread(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Max(v) - slices.Min(v)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// TestSynthesisedBundlesHavePatchOutputs: every variant of a synthesised
// bundle gives the maps from one run, and a golden image is 0 against its
// own bank in each.
func TestSynthesisedBundlesHavePatchOutputs(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	runCLI(t, 0, "model", "synth", "--preset", "tiny", "--seed", "4", "--out", model, "--variants", "fp32,fp16,int8")
	b, err := bundle.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	if want := b.Config.VisionConfig.DefaultMemoryLayers(); !slices.Equal(b.Provenance.PatchLayers, want) {
		t.Errorf("linesight.json records patch layers %v, want %v", b.Provenance.PatchLayers, want)
	}
	images := testImages(t, dir, 3)
	g := b.Config.VisionConfig.Grid()
	for _, variant := range []string{"fp32", "fp16", "int8"} {
		out := runCLI(t, 0, "model", "anomaly", "--bundle", model, "--variant", variant, "--golden", images[0],
			"--good", "a photo of a washer", "--defect", "dent=a photo of a dented washer", images[0], images[1])
		lines := anomalyLines(t, out)
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines for 2 images", variant, len(lines))
		}
		for i, l := range lines {
			if l.FewShot == nil || l.ZeroShot == nil || len(*l.FewShot) != g*g || len(*l.ZeroShot) != g*g || len(l.Map) != g*g {
				t.Fatalf("%s line %d: want fewshot, zeroshot and map of %d values each: %s", variant, i, g*g, out)
			}
		}
		if s := slices.Max(*lines[0].FewShot); s > 1e-6 {
			t.Errorf("%s: the golden image's few-shot map reaches %g against its own bank, want 0", variant, s)
		}
		if s := slices.Max(*lines[1].FewShot); s <= 1e-3 {
			t.Errorf("%s: another image's few-shot map is %g at most, want above 0", variant, s)
		}
	}
}
