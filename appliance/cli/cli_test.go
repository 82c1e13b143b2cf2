package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/toolchain/safetensors"
)

type result struct {
	code          int
	stdout, stder string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("linesight %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stder)
	}
	return r
}

func synth(t *testing.T, seed int, variants string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	mustRun(t, "", "model", "synth", "--preset", "tiny", "--seed", fmt.Sprint(seed), "--out", dir, "--variants", variants)
	return dir
}

func digest(t *testing.T, dir, variant string) string {
	t.Helper()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Digest(variant)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSynthWritesCompleteDeterministicBundles(t *testing.T) {
	a := synth(t, 3, "fp32,fp16,int8")
	b, err := bundle.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Variants(), ","); got != "fp32,fp16,int8" {
		t.Errorf("variants %s", got)
	}
	if _, err := b.Tokenizer(); err != nil {
		t.Errorf("tokenizer files: %v", err)
	}
	if !b.Provenance.Synthetic {
		t.Error("synth bundle not marked synthetic")
	}
	if b.Preprocess.CropHeight != 32 {
		t.Errorf("preprocessor crop %d, want the tiny preset's 32", b.Preprocess.CropHeight)
	}
	if digest(t, a, "fp32") != digest(t, synth(t, 3, "fp32"), "fp32") {
		t.Error("same preset and seed gave different digests")
	}
	if digest(t, a, "fp32") == digest(t, synth(t, 4, "fp32"), "fp32") {
		t.Error("different seeds gave the same digest")
	}
	if digest(t, a, "fp32") == digest(t, a, "int8") {
		t.Error("variants share a digest")
	}

	r := run(t, "", "model", "synth", "--preset", "tiny", "--out", a)
	if r.code == 0 || !strings.Contains(r.stder, "already exists") {
		t.Errorf("overwriting without --replace: exit %d, %s", r.code, r.stder)
	}
	r = run(t, "", "model", "synth", "--preset", "vit-h-14", "--out", filepath.Join(t.TempDir(), "x"))
	if r.code == 0 || !strings.Contains(r.stder, "vit-l-14") {
		t.Errorf("unknown preset: exit %d, %s", r.code, r.stder)
	}
	r = run(t, "", "model", "synth", "--variants", "fp8", "--out", filepath.Join(t.TempDir(), "x"))
	if r.code == 0 || !strings.Contains(r.stder, "fp8") {
		t.Errorf("unknown variant: exit %d, %s", r.code, r.stder)
	}
}

// Importing a checkpoint of the weights synth makes gives the very same bundle.
func TestImportOfSynthWeightsMatchesSynth(t *testing.T) {
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	w := arch.RandomWeights(cfg, 5)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "config.json"), cfg.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(filepath.Join(src, "model.safetensors"), w, safetensors.F32, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "imported")
	r := mustRun(t, "", "model", "import", "--from", src, "--out", out)
	if !strings.Contains(r.stder, "read weights") {
		t.Errorf("no progress shown:\n%s", r.stder)
	}
	if b, err := bundle.Open(out); err != nil {
		t.Fatal(err)
	} else if b.Provenance.Synthetic || b.Provenance.ImportedFrom != src {
		t.Errorf("imported bundle provenance %+v", b.Provenance)
	}
	if digest(t, out, "fp32") != digest(t, synth(t, 5, "fp32"), "fp32") {
		t.Error("import of synth's weights differs from synth")
	}

	if err := os.Remove(filepath.Join(src, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "model", "import", "--from", src, "--out", filepath.Join(t.TempDir(), "x"))
	if r.code == 0 || !strings.Contains(r.stder, "safetensors") {
		t.Errorf("checkpoint without weights: exit %d, %s", r.code, r.stder)
	}
}

func TestTokenize(t *testing.T) {
	r := mustRun(t, "a photo of a cat\n\nA PHOTO OF A CAT\n", "model", "tokenize")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 3 inputs:\n%s", len(lines), r.stdout)
	}
	var ids [][]int64
	for _, l := range lines {
		var row []int64
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, row)
	}
	// OpenAI's ids: a=320 photo=1125 of=539 cat=2368, between SOT and EOT.
	want := []int64{49406, 320, 1125, 539, 320, 2368, 49407}
	for i, row := range [][]int64{ids[0], ids[2]} {
		if len(row) != 77 {
			t.Fatalf("row %d has %d ids, want 77", i, len(row))
		}
		for j, v := range row {
			w := int64(0)
			if j < len(want) {
				w = want[j]
			}
			if v != w {
				t.Fatalf("row %d: ids %v, want %v then zeros", i, row[:10], want)
			}
		}
	}
	if ids[1][0] != 49406 || ids[1][1] != 49407 || ids[1][2] != 0 {
		t.Errorf("empty line: %v", ids[1][:3])
	}

	r = mustRun(t, "a photo of a cat\n", "model", "tokenize", "--context", "4")
	if strings.TrimSpace(r.stdout) != "[49406,320,1125,49407]" {
		t.Errorf("truncated: %s, want EOT kept last", r.stdout)
	}
}

func TestPreprocessWritesTensorsInArgumentOrder(t *testing.T) {
	model := synth(t, 1, "fp32")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	mustRun(t, "", "demo-image", "--out", a, "--width", "64", "--height", "48")
	mustRun(t, "", "demo-image", "--out", b, "--width", "40", "--height", "90")
	out := filepath.Join(dir, "x.f32")
	mustRun(t, "", "model", "preprocess", "--bundle", model, "--out", out, b, a)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p := preprocess.DefaultParams()
	p.ShortestEdge, p.CropHeight, p.CropWidth = 32, 32, 32
	n := p.TensorLen()
	if len(raw) != 2*4*n {
		t.Fatalf("%d bytes, want two 3x32x32 float32 tensors (%d)", len(raw), 2*4*n)
	}
	pre := preprocess.New(p)
	defer pre.Close()
	for i, path := range []string{b, a} {
		img, err := preprocess.LoadImageFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, n)
		if err := pre.Image(img, want); err != nil {
			t.Fatal(err)
		}
		for j, v := range want {
			got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*n+j):]))
			if got != v {
				t.Fatalf("tensor %d (%s) value %d: %v, want %v", i, filepath.Base(path), j, got, v)
			}
		}
	}
	r := run(t, "", "model", "preprocess", "--bundle", model, "--out", out, filepath.Join(dir, "missing.png"))
	if r.code == 0 || !strings.Contains(r.stder, "missing.png") {
		t.Errorf("missing image: exit %d, %s", r.code, r.stder)
	}
}

func TestEmbedAndClassify(t *testing.T) {
	testenv.RequireORT(t)
	model := synth(t, 2, "fp32,int8")
	img := filepath.Join(t.TempDir(), "part.png")
	mustRun(t, "", "demo-image", "--out", img, "--width", "80", "--height", "60")

	r := mustRun(t, "", "model", "embed", "--bundle", model, "--threads", "1", "--image", img, "--text", "a dent", "--text", "a scratch")
	var embeds map[string][][]float64
	if err := json.Unmarshal([]byte(r.stdout), &embeds); err != nil {
		t.Fatal(err)
	}
	if len(embeds["image_embeds"]) != 1 || len(embeds["text_embeds"]) != 2 || len(embeds["image_embeds"][0]) != 16 {
		t.Fatalf("shapes: %d images, %d texts", len(embeds["image_embeds"]), len(embeds["text_embeds"]))
	}
	textOnly := mustRun(t, "", "model", "embed", "--bundle", model, "--text", "a scratch")
	var t2 map[string][][]float64
	if err := json.Unmarshal([]byte(textOnly.stdout), &t2); err != nil {
		t.Fatal(err)
	}
	if _, ok := t2["image_embeds"]; ok || fmt.Sprint(t2["text_embeds"][0]) != fmt.Sprint(embeds["text_embeds"][1]) {
		t.Error("text-only embed differs from the same prompt embedded with others")
	}

	r = mustRun(t, "", "classify", "--bundle", model, "--variant", "int8", "--prompt", "a good part", "--prompt", "a scratched part", img, img)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 2 images", len(lines))
	}
	var c classification
	if err := json.Unmarshal([]byte(lines[0]), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Probabilities) != 2 || math.Abs(c.Probabilities[0]+c.Probabilities[1]-1) > 1e-9 {
		t.Errorf("probabilities %v do not sum to 1", c.Probabilities)
	}
	if c.Model != digest(t, model, "int8") {
		t.Errorf("model %s, want the int8 digest", c.Model)
	}

	r = run(t, "", "classify", "--bundle", model, "--variant", "q4", "--prompt", "a", "--prompt", "b", img)
	if r.code == 0 || !strings.Contains(r.stder, "fp32, int8") {
		t.Errorf("unknown variant: exit %d, %s", r.code, r.stder)
	}
}

func TestConfigFileSuppliesModelSettings(t *testing.T) {
	testenv.RequireORT(t)
	model := synth(t, 2, "fp32")
	cfg := filepath.Join(t.TempDir(), "linesight.yaml")
	if err := os.WriteFile(cfg, []byte("model:\n  bundle: "+model+"\n  threads: 1\n  providers:\n    - name: cuda\n    - name: cpu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "model", "embed", "--config", cfg, "--text", "a scratch")
	if !strings.Contains(r.stder, "provider=cuda") || !strings.Contains(r.stdout, "text_embeds") {
		t.Errorf("config not applied:\n%s", r.stder)
	}
	if err := os.WriteFile(cfg, []byte("model:\n  bundle: x\n  treads: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "model", "embed", "--config", cfg, "--text", "a")
	if r.code == 0 || !strings.Contains(r.stder, "treads") {
		t.Errorf("unknown key: exit %d, %s", r.code, r.stder)
	}
}

func TestUsage(t *testing.T) {
	if r := run(t, "", "frobnicate"); r.code != 2 || !strings.Contains(r.stder, "model synth") {
		t.Errorf("unknown command: exit %d, %s", r.code, r.stder)
	}
	if r := run(t, "", "model", "embed", "--text", "x"); r.code != 1 || !strings.Contains(r.stder, "--bundle") {
		t.Errorf("no bundle: exit %d, %s", r.code, r.stder)
	}
	if r := run(t, "", "model", "embed", "--bogus"); r.code != 2 {
		t.Errorf("bad flag: exit %d", r.code)
	}
}
