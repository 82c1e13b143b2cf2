package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

func tinyCLIP(t *testing.T) (arch.Config, arch.Weights) {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, arch.RandomWeights(cfg, 11)
}

func writeConfig(t *testing.T, dir string, cfg arch.Config) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertSameWeights(t *testing.T, got, want arch.Weights, relError float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Fatalf("missing %s", name)
		}
		if !slices.Equal(g.Shape, w.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, g.Shape, w.Shape)
		}
		for i := range w.Data {
			if math.Abs(float64(g.Data[i]-w.Data[i])) > relError*math.Abs(float64(w.Data[i])) {
				t.Fatalf("%s[%d] = %g, want %g", name, i, g.Data[i], w.Data[i])
			}
		}
	}
}

func TestLoadCLIPSingleFile(t *testing.T) {
	dir := t.TempDir()
	cfg, weights := tinyCLIP(t)
	writeConfig(t, dir, cfg)
	if err := Write(filepath.Join(dir, SingleFileName), weights, F32, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	var reports [][2]int64
	gotCfg, got, err := LoadCLIP(dir, func(done, total int64) { reports = append(reports, [2]int64{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotCfg.JSON(), cfg.JSON()) {
		t.Errorf("config differs:\n%s\nwant\n%s", gotCfg.JSON(), cfg.JSON())
	}
	assertSameWeights(t, got, weights, 0)

	var wantTotal int64
	for _, tensor := range weights {
		wantTotal += int64(4 * len(tensor.Data))
	}
	last := reports[len(reports)-1]
	if last[0] != wantTotal || last[1] != wantTotal {
		t.Errorf("last progress %v, want done = total = %d", last, wantTotal)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i][0] < reports[i-1][0] || reports[i][1] != wantTotal {
			t.Fatalf("progress went %v -> %v", reports[i-1], reports[i])
		}
	}
}

// A sharded bf16 checkpoint with an extra int64 buffer, as older transformers
// versions save text_model.embeddings.position_ids.
func TestLoadCLIPShardedWithExtras(t *testing.T) {
	dir := t.TempDir()
	cfg, weights := tinyCLIP(t)
	writeConfig(t, dir, cfg)
	weightMap := writeSharded(t, dir, weights, BF16)

	maxPos := cfg.TextConfig.MaxPositionEmbeddings
	var ids []byte
	for i := 0; i < maxPos; i++ {
		ids = binary.LittleEndian.AppendUint64(ids, uint64(i))
	}
	header := fmt.Sprintf(`{"text_model.embeddings.position_ids":{"dtype":"I64","shape":[1,%d],"data_offsets":[0,%d]}}`, maxPos, len(ids))
	writeRaw(t, dir, "extra.safetensors", header, ids, -1)
	weightMap["text_model.embeddings.position_ids"] = "extra.safetensors"
	writeIndex(t, dir, weightMap)

	_, got, err := LoadCLIP(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertSameWeights(t, got, weights, math.Ldexp(1, -8))
}

func TestLoadCLIPErrors(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(w arch.Weights)
		want    []string
	}{
		{"missing tensor", func(w arch.Weights) { delete(w, "vision_model.post_layernorm.bias") },
			[]string{`"vision_model.post_layernorm.bias"`, SingleFileName, "missing"}},
		{"misshaped tensor", func(w arch.Weights) {
			w["text_projection.weight"] = &arch.Tensor{Shape: []int{2, 3}, Data: make([]float32, 6)}
		}, []string{`"text_projection.weight"`, SingleFileName, "[2 3]"}},
		{"non-scalar logit scale", func(w arch.Weights) {
			w["logit_scale"] = &arch.Tensor{Shape: []int{2}, Data: []float32{1, 2}}
		}, []string{`"logit_scale"`, SingleFileName}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, weights := tinyCLIP(t)
			writeConfig(t, dir, cfg)
			c.corrupt(weights)
			if err := Write(filepath.Join(dir, SingleFileName), weights, F16, nil); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadCLIP(dir, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadCLIPWantedTensorOfWrongDType(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := tinyCLIP(t)
	writeConfig(t, dir, cfg)
	header := `{"logit_scale":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}`
	writeRaw(t, dir, "scale.safetensors", header, le32(1), -1)
	_, weights := tinyCLIP(t)
	delete(weights, "logit_scale")
	if err := Write(filepath.Join(dir, "towers.safetensors"), weights, F32, nil); err != nil {
		t.Fatal(err)
	}
	weightMap := map[string]string{"logit_scale": "scale.safetensors"}
	for name := range weights {
		weightMap[name] = "towers.safetensors"
	}
	writeIndex(t, dir, weightMap)
	_, _, err := LoadCLIP(dir, nil)
	if err == nil || !strings.Contains(err.Error(), `"logit_scale"`) || !strings.Contains(err.Error(), "I32") || !strings.Contains(err.Error(), "scale.safetensors") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadCLIPWithoutLogitScaleOrConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, weights := tinyCLIP(t)
	delete(weights, "logit_scale")
	if err := Write(filepath.Join(dir, SingleFileName), weights, F32, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCLIP(dir, nil); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("without config.json: err = %v", err)
	}
	writeConfig(t, dir, cfg)
	_, got, err := LoadCLIP(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["logit_scale"]; ok {
		t.Error("logit_scale appeared from nowhere")
	}
	if math.Abs(got.LogitScale(cfg)-math.Exp(cfg.LogitScaleInitValue)) > 1e-12 {
		t.Errorf("LogitScale = %g, want the config's", got.LogitScale(cfg))
	}
}

// Some exporters store logit_scale as [1] rather than a 0-d tensor.
func TestLoadCLIPLogitScaleOfShapeOne(t *testing.T) {
	dir := t.TempDir()
	cfg, weights := tinyCLIP(t)
	writeConfig(t, dir, cfg)
	weights["logit_scale"] = &arch.Tensor{Shape: []int{1}, Data: []float32{2.5}}
	if err := Write(filepath.Join(dir, SingleFileName), weights, F32, nil); err != nil {
		t.Fatal(err)
	}
	_, got, err := LoadCLIP(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	scale := got["logit_scale"]
	if len(scale.Shape) != 0 || scale.Data[0] != 2.5 {
		t.Errorf("logit_scale = %v %v, want a scalar 2.5", scale.Shape, scale.Data)
	}
}
