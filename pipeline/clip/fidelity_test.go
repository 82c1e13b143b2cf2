package clip_test

import (
	"encoding/json"
	"fmt"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/internal/pyref"

	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/preprocess/cvmat"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
	"github.com/linesight/linesight/pipeline/clip/toolchain/safetensors"
)

func TestMain(m *testing.M) {
	testenv.MainRequireORT()
	if err := engine.Init(""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// testImages writes images made up at test time: different sizes, aspect
// ratios and PNG modes (RGB, grey, RGBA), with smooth and noisy regions.
func testImages(t *testing.T, dir string, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 1))
	specs := []struct {
		w, h int
		mode string
	}{{97, 61, "rgb"}, {50, 130, "gray"}, {320, 240, "rgba"}}
	var paths []string
	for i, s := range specs {
		var img image.Image
		fx, fy := rng.Float64()*0.3, rng.Float64()*0.3
		px := func(x, y, c int) uint8 {
			v := 127 + 100*math.Sin(fx*float64(x)+fy*float64(y)+float64(c)) + 25*rng.NormFloat64()
			return uint8(max(0, min(255, v)))
		}
		switch s.mode {
		case "rgb":
			m := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
			for y := 0; y < s.h; y++ {
				for x := 0; x < s.w; x++ {
					m.Set(x, y, color.RGBA{px(x, y, 0), px(x, y, 1), px(x, y, 2), 255})
				}
			}
			img = m
		case "gray":
			m := image.NewGray(image.Rect(0, 0, s.w, s.h))
			for y := 0; y < s.h; y++ {
				for x := 0; x < s.w; x++ {
					m.SetGray(x, y, color.Gray{px(x, y, 0)})
				}
			}
			img = m
		case "rgba":
			m := image.NewNRGBA(image.Rect(0, 0, s.w, s.h))
			for y := 0; y < s.h; y++ {
				for x := 0; x < s.w; x++ {
					m.SetNRGBA(x, y, color.NRGBA{px(x, y, 0), px(x, y, 1), px(x, y, 2), uint8(128 + x%128)})
				}
			}
			img = m
		}
		path := filepath.Join(dir, fmt.Sprintf("image%d.png", i))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// testPrompts makes prompts at test time from word lists.
func testPrompts(seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 2))
	adjectives := []string{"scratched", "dented", "clean", "rusty", "cracked", "shiny", "dusty", "bent"}
	nouns := []string{"washer", "bracket", "bottle cap", "connector", "gear", "hinge", "bolt", "panel"}
	templates := []string{"a photo of a %s %s.", "a close-up photo of the %s %s", "an image of a %s %s on a conveyor"}
	var out []string
	for i := 0; i < 4; i++ {
		out = append(out, fmt.Sprintf(templates[rng.IntN(len(templates))], adjectives[rng.IntN(len(adjectives))], nouns[rng.IntN(len(nouns))]))
	}
	return out
}

type torchReference struct {
	ImageEmbeds   [][]float64 `json:"image_embeds"`
	TextEmbeds    [][]float64 `json:"text_embeds"`
	Probabilities [][]float64 `json:"probabilities"`
	LogitScale    float64     `json:"logit_scale"`
}

// TestAgreesWithPyTorch checks the whole CLIP path against an independent
// PyTorch CLIP on weights, images and prompts made at test time:
//   - a Hugging Face checkpoint (sharded float16 safetensors) imported by
//     LineSight, in fp32, fp16 and int8;
//   - the same model exported by torch.onnx.export, loaded as a bundle.
//
// Images go through LineSight's preprocessing here and Pillow's there.
func TestAgreesWithPyTorch(t *testing.T) {
	py := pyref.Python(t, "torch, numpy, PIL")
	dir := t.TempDir()
	images := testImages(t, dir, 42)
	prompts := testPrompts(42)

	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	var ids [][]int64
	for _, p := range prompts {
		row, err := tok.Tokenize(p, 77)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, row)
	}

	// Reference pixels from Pillow, then the reference model.
	const side = 48 // the reference model's image_size
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = side, side, side
	job := map[string]any{"shortest_edge": side, "crop": []int{side, side}, "mean": pre.Mean, "std": pre.Std}
	var items []map[string]string
	var tensors []string
	for i, img := range images {
		out := filepath.Join(dir, fmt.Sprintf("pixels%d.f32", i))
		items = append(items, map[string]string{"in": img, "out": out})
		tensors = append(tensors, out)
	}
	job["items"] = items
	pyref.Run(t, py, filepath.Join("preprocess", "testdata", "clip_reference.py"), job)
	refDir := filepath.Join(dir, "torch")
	pyref.Run(t, py, filepath.Join("testdata", "torch_clip.py"), map[string]any{
		"out": refDir, "seed": 7, "pixels": tensors, "ids": ids,
	})
	var ref torchReference
	data, err := os.ReadFile(filepath.Join(refDir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	checkPixels(t, images, tensors, pre)

	t.Run("imported checkpoint", func(t *testing.T) {
		cfg, w, err := safetensors.LoadCLIP(filepath.Join(refDir, "hf"), nil)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "imported")
		err = bundlewrite.Write(out, cfg, w, tok, pre, bundlewrite.Options{Variants: []graph.Variant{graph.FP32, graph.FP16, graph.INT8}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			variant        string
			minCos, probTo float64
		}{{"fp32", 0.9999, 1e-3}, {"fp16", 0.999, 0}, {"int8", 0.99, 0}} {
			t.Run(c.variant, func(t *testing.T) {
				compareModel(t, out, c.variant, images, prompts, ref, c.minCos, c.probTo)
			})
		}
	})

	t.Run("bundle exported by PyTorch", func(t *testing.T) {
		exported := filepath.Join(refDir, "exported")
		if err := tok.WriteFiles(exported); err != nil {
			t.Fatal(err)
		}
		compareModel(t, exported, "fp32", images, prompts, ref, 0.9999, 1e-3)

		// It has no patch outputs: anomaly maps are refused with the reason,
		// image-level scoring (above) works.
		m, err := clip.Open(exported, clip.Options{NoText: true, Session: engine.SessionOptions{IntraOpThreads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.CheckPatches([]int{1}, true); err == nil || !strings.Contains(err.Error(), "no patch outputs") {
			t.Errorf("anomaly maps from a PyTorch export: got %v, want an error saying it has no patch outputs", err)
		}
	})
}

// checkPixels: LineSight's preprocessing of the test images is within 0.02
// (about one grey level) of Pillow's.
func checkPixels(t *testing.T, images, tensors []string, p preprocess.Params) {
	t.Helper()
	pre := preprocess.New(p)
	defer pre.Close()
	got := make([]float32, p.TensorLen())
	for i, path := range images {
		img, err := cvmat.LoadImageFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pre.Image(img, got); err != nil {
			t.Fatal(err)
		}
		want := pyref.ReadTensor(t, tensors[i])
		var worst float64
		for j := range got {
			worst = math.Max(worst, math.Abs(float64(got[j]-want[j])))
		}
		if worst > 0.02 {
			t.Errorf("%s: preprocessing differs from Pillow by up to %.4f, want <= 0.02", filepath.Base(path), worst)
		}
	}
}

func compareModel(t *testing.T, dir, variant string, images, prompts []string, ref torchReference, minCos, probTol float64) {
	t.Helper()
	m, err := clip.Open(dir, clip.Options{Variant: variant, Session: engine.SessionOptions{IntraOpThreads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	imgs := make([]image.Image, len(images))
	for i, p := range images {
		if imgs[i], err = cvmat.LoadImageFile(p); err != nil {
			t.Fatal(err)
		}
	}
	imageEmbeds, err := m.EmbedImages(imgs)
	if err != nil {
		t.Fatal(err)
	}
	textEmbeds, err := m.EmbedTexts(prompts)
	if err != nil {
		t.Fatal(err)
	}
	lowest := 1.0
	for i, e := range imageEmbeds {
		c := clip.Cosine(e, f32(ref.ImageEmbeds[i]))
		lowest = math.Min(lowest, c)
		if c < minCos {
			t.Errorf("image %d: cosine to PyTorch %.6f, want >= %g", i, c, minCos)
		}
	}
	for i, e := range textEmbeds {
		c := clip.Cosine(e, f32(ref.TextEmbeds[i]))
		lowest = math.Min(lowest, c)
		if c < minCos {
			t.Errorf("prompt %q: cosine to PyTorch %.6f, want >= %g", prompts[i], c, minCos)
		}
	}
	t.Logf("%s %s: lowest embedding cosine to PyTorch %.7f", filepath.Base(dir), variant, lowest)
	if probTol == 0 {
		return
	}
	// Bundles LineSight writes record the trained scale; a PyTorch export
	// does not, and CLIP's 100 stands in for it.
	if _, recorded := m.Bundle.Config.TrainedLogitScale(); recorded && math.Abs(m.LogitScale-ref.LogitScale) > 1e-3 {
		t.Errorf("logit scale %.4f, PyTorch %.4f", m.LogitScale, ref.LogitScale)
	}
	var worst float64
	for i, e := range imageEmbeds {
		probs := clip.Probabilities(e, textEmbeds, m.LogitScale)
		for j, p := range probs {
			d := math.Abs(p - ref.Probabilities[i][j])
			worst = math.Max(worst, d)
			if d > probTol {
				t.Errorf("image %d prompt %d: probability %.5f, PyTorch %.5f (off by %.1e)", i, j, p, ref.Probabilities[i][j], d)
			}
		}
	}
	t.Logf("%s %s: largest probability difference %.1e", filepath.Base(dir), variant, worst)
	// Agreeing on nearly uniform probabilities would prove little.
	for i, p := range ref.Probabilities {
		if spread := maxMinusMin(p); spread < 0.05 {
			t.Errorf("reference probabilities of image %d are nearly uniform (spread %.3f): the test model does not discriminate", i, spread)
		}
	}
	if !strings.HasPrefix(m.Digest, "sha256:") {
		t.Errorf("digest %q", m.Digest)
	}
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func maxMinusMin(v []float64) float64 {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return hi - lo
}
