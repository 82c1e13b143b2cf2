package arch

import (
	"strings"
	"testing"
)

func paramCount(c Config) int {
	n := 1 // logit_scale
	for _, t := range []Tower{Vision, Text} {
		for _, p := range c.Params(t) {
			n += NumElements(p.Shape)
		}
	}
	return n
}

// The presets must have the published models' shapes: their parameter counts
// are those of Hugging Face's openai/clip-vit-* CLIPModel checkpoints.
func TestPresetsMatchPublishedParameterCounts(t *testing.T) {
	for name, want := range map[string]int{
		"vit-b-32":     151277313,
		"vit-b-16":     149620737,
		"vit-l-14":     427616513,
		"vit-l-14-336": 427944193,
	} {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := paramCount(c); got != want {
			t.Errorf("%s: %d parameters, the published model has %d", name, got, want)
		}
	}
}

func TestParseConfigDefaultsAndValidation(t *testing.T) {
	c, err := ParseConfig([]byte(`{"projection_dim": 768, "vision_config": {"hidden_size": 1024, "num_attention_heads": 16, "patch_size": 14}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.VisionConfig.ImageSize != 224 || c.TextConfig.MaxPositionEmbeddings != 77 || c.VisionConfig.HiddenAct != "quick_gelu" {
		t.Errorf("defaults not applied: %+v", c)
	}
	for _, bad := range []struct{ json, want string }{
		{`{"vision_config": {"hidden_size": 100, "num_attention_heads": 16}}`, "multiple of num_attention_heads"},
		{`{"vision_config": {"image_size": 225, "patch_size": 14}}`, "multiple of patch_size"},
		{`{"text_config": {"hidden_act": "relu"}}`, "relu"},
		{`{"projection_dim": "big"}`, "decode"},
	} {
		if _, err := ParseConfig([]byte(bad.json)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", bad.json, err, bad.want)
		}
	}
}

func TestRandomWeightsAreSeededAndComplete(t *testing.T) {
	c, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	a, b, other := RandomWeights(c, 1), RandomWeights(c, 1), RandomWeights(c, 2)
	for _, tower := range []Tower{Vision, Text} {
		if err := a.Check(c, tower); err != nil {
			t.Fatal(err)
		}
	}
	name := "vision_model.encoder.layers.1.mlp.fc1.weight"
	for i := range a[name].Data {
		if a[name].Data[i] != b[name].Data[i] {
			t.Fatal("same seed gave different weights")
		}
	}
	if a[name].Data[0] == other[name].Data[0] && a[name].Data[1] == other[name].Data[1] {
		t.Error("different seeds gave the same weights")
	}
	delete(a, name)
	if err := a.Check(c, Vision); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("missing weight: got %v", err)
	}
	if got := a.LogitScale(c); got < 99.99 || got > 100.01 {
		t.Errorf("logit scale %v, want 100", got)
	}
}
