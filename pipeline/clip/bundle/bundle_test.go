package bundle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
)

func writeTiny(t *testing.T, variants ...graph.Variant) string {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = 32, 32, 32
	dir := filepath.Join(t.TempDir(), "bundle")
	opts := bundlewrite.Options{Variants: variants, Provenance: bundle.Provenance{Synthetic: true, Preset: "tiny", Seed: 1}}
	if err := bundlewrite.Write(dir, cfg, arch.RandomWeights(cfg, 1), tok, pre, opts); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenFindsVariantsAndConfigs(t *testing.T) {
	dir := writeTiny(t, graph.FP32, graph.INT8)
	// Optimum's suffix: found like ours.
	for _, stem := range []string{"vision_model", "text_model"} {
		data, err := os.ReadFile(filepath.Join(dir, bundle.ModelDir, stem+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, bundle.ModelDir, stem+"_quantized.onnx"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A vision model without its text partner is not a variant.
	if err := os.WriteFile(filepath.Join(dir, bundle.ModelDir, "vision_model_fp16.onnx"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Variants(), ","); got != "fp32,int8,quantized" {
		t.Errorf("variants %s, want fp32,int8,quantized", got)
	}
	f, err := b.Files("quantized")
	if err != nil || filepath.Base(f.Text) != "text_model_quantized.onnx" {
		t.Errorf("quantized files %+v, %v", f, err)
	}
	if _, err := b.Files("fp16"); err == nil || !strings.Contains(err.Error(), "fp32, int8, quantized") {
		t.Errorf("unknown variant: got %v, want the available ones listed", err)
	}
	if p := b.Provenance; !p.Synthetic || p.Preset != "tiny" || p.Seed != 1 {
		t.Errorf("provenance %+v, want synthetic tiny seed 1", p)
	}
	if b.Preprocess.CropWidth != 32 || b.Config.VisionConfig.ImageSize != 32 {
		t.Errorf("configs not read: %+v", b.Preprocess)
	}
	if scale, ok := b.Config.TrainedLogitScale(); !ok || scale < 99.99 || scale > 100.01 {
		t.Errorf("logit scale %v recorded=%v, want 100 recorded", scale, ok)
	}

	// Without preprocessor_config.json: OpenAI's transform at the model size.
	if err := os.Remove(filepath.Join(dir, bundle.PreprocessorFile)); err != nil {
		t.Fatal(err)
	}
	b, err = bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Preprocess.ShortestEdge != 32 || b.Preprocess.Mean != preprocess.DefaultParams().Mean {
		t.Errorf("default preprocessing %+v", b.Preprocess)
	}
}

func TestOpenErrorsNameWhatIsWrong(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(dir string) error
		want   string
	}{
		{"no config", func(d string) error { return os.Remove(filepath.Join(d, bundle.ConfigFile)) }, bundle.ConfigFile},
		{"bad config", func(d string) error { return os.WriteFile(filepath.Join(d, bundle.ConfigFile), []byte("{"), 0o644) }, bundle.ConfigFile},
		{"bad preprocessor", func(d string) error {
			return os.WriteFile(filepath.Join(d, bundle.PreprocessorFile), []byte(`{"resample": 2}`), 0o644)
		}, bundle.PreprocessorFile},
		{"no models", func(d string) error { return os.RemoveAll(filepath.Join(d, bundle.ModelDir)) }, bundle.ModelDir},
		{"no text model", func(d string) error { return os.Remove(filepath.Join(d, bundle.ModelDir, "text_model.onnx")) }, "text_model.onnx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTiny(t)
			if err := c.break_(dir); err != nil {
				t.Fatalf("breaking the bundle: %v", err)
			}
			if _, err := bundle.Open(dir); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error naming %s", err, c.want)
			}
		})
	}
	if _, err := bundle.Open(filepath.Join(t.TempDir(), "nowhere")); err == nil {
		t.Error("a missing directory opened")
	}
}

func TestDigestCoversModelFilesAndExternalData(t *testing.T) {
	dir := writeTiny(t)
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := b.Digest("")
	if err != nil {
		t.Fatal(err)
	}
	if d2 := digest(t, b); d2 != d1 || !strings.HasPrefix(d1, "sha256:") || len(bundle.Short(d1)) != 12 {
		t.Fatalf("digest %s / %s", d1, d2)
	}
	ext := filepath.Join(dir, bundle.ModelDir, "vision_model.onnx_data")
	if err := os.WriteFile(ext, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	d3 := digest(t, b)
	if d3 == d1 {
		t.Error("external data does not change the digest")
	}
	if err := os.WriteFile(ext, []byte("weightz"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d4 := digest(t, b); d4 == d3 {
		t.Error("changed external data gives the same digest")
	}
	// Preprocessing and tokenizer change the answers too.
	if err := os.Remove(ext); err != nil {
		t.Fatal(err)
	}
	if d5 := digest(t, b); d5 != d1 {
		t.Fatal("removing the external data did not restore the digest")
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.PreprocessorFile), preprocess.DefaultParams().JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	d6 := digest(t, b)
	if d6 == d1 {
		t.Error("digest ignores preprocessor_config.json")
	}
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d7 := digest(t, b); d7 == d6 {
		t.Error("digest ignores the tokenizer files")
	}
}

// digest returns the bundle's fp32 digest.
func digest(t *testing.T, b *bundle.Bundle) string {
	t.Helper()
	d, err := b.Digest(bundle.FP32)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteIsAllOrNothing(t *testing.T) {
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	w := arch.RandomWeights(cfg, 1)
	delete(w, "text_projection.weight")
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	err = bundlewrite.Write(dir, cfg, w, tok, preprocess.DefaultParams(), bundlewrite.Options{})
	if err == nil || !strings.Contains(err.Error(), "text_projection.weight") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("a failed write left a bundle behind")
	}
	if _, err := os.Stat(dir + ".partial"); !os.IsNotExist(err) {
		t.Error("a failed write left its partial directory behind")
	}
}

func TestCheckSaysWhatIsMissing(t *testing.T) {
	dir := writeTiny(t, graph.FP32)
	if err := bundle.Check(dir, ""); err != nil {
		t.Fatalf("complete bundle: %v", err)
	}
	if err := bundle.Check(dir, "int8"); err == nil || !strings.Contains(err.Error(), "onnx/vision_model_int8.onnx and onnx/text_model_int8.onnx of variant int8 (variants present: fp32)") {
		t.Errorf("absent variant: %v", err)
	}
	if err := bundle.Check(filepath.Join(dir, "nope"), "fp32"); err == nil || !strings.Contains(err.Error(), "nope does not exist") {
		t.Errorf("absent folder: %v", err)
	}
	// Take the pieces away one by one: each is named, all at once.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(filepath.Join(dir, bundle.ConfigFile)))
	must(os.Remove(filepath.Join(dir, bundle.ModelDir, "text_model.onnx")))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		for _, tf := range []string{"tokenizer.json", "vocab.json", "merges.txt", "bpe_simple_vocab_16e6.txt.gz"} {
			if e.Name() == tf {
				must(os.Remove(filepath.Join(dir, tf)))
			}
		}
	}
	err = bundle.Check(dir, "fp32")
	if err == nil {
		t.Fatal("an incomplete bundle passed the check")
	}
	for _, want := range []string{"has no config.json", "lacks onnx/text_model.onnx of variant fp32", "no tokenizer in " + dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check error lacks %q:\n%v", want, err)
		}
	}
	must(os.RemoveAll(filepath.Join(dir, bundle.ModelDir)))
	if err := bundle.Check(dir, "fp32"); err == nil || !strings.Contains(err.Error(), "has no onnx/ folder") {
		t.Errorf("no model folder: %v", err)
	}
}
