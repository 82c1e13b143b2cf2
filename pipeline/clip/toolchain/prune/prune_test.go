package prune

import (
	"math"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/toolchain/reference"
)

// Units that write nothing (a zero fc2 column) are the ones pruned, and
// with them gone the tower gives the same embedding: the cut is exact where
// it should be. The pruned config and shapes are a plain, smaller tower.
func TestMLPDropsTheUnitsThatMatterLeast(t *testing.T) {
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	w := arch.RandomWeights(cfg, 2)
	size := cfg.VisionConfig.IntermediateSize
	for l := range cfg.VisionConfig.NumHiddenLayers {
		fc2 := w[fmtName(l, "fc2.weight")]
		width := fc2.Shape[0]
		for u := 0; u < size; u += 2 { // every other unit writes nothing
			for r := range width {
				fc2.Data[r*size+u] = 0
			}
		}
	}
	pcfg, pw, err := MLP(cfg, w, arch.Vision, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if pcfg.VisionConfig.IntermediateSize != size/2 || pcfg.TextConfig != cfg.TextConfig {
		t.Fatalf("pruned config %+v", pcfg.VisionConfig)
	}
	if got := pw[fmtName(0, "fc1.weight")].Shape; got[0] != size/2 {
		t.Fatalf("fc1 shape %v", got)
	}
	sameEmbedding(t, "units", cfg, w, pcfg, pw)
	if _, _, err := MLP(cfg, w, arch.Vision, 1); err == nil {
		t.Error("ratio 1 accepted")
	}
}

// Heads that write nothing (zero out_proj columns) are the ones pruned,
// and with them gone the tower gives the same embedding; the pruned tower
// keeps its head width with fewer heads.
func TestHeadsDropsTheHeadsThatMatterLeast(t *testing.T) {
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	w := arch.RandomWeights(cfg, 3)
	vc := cfg.VisionConfig
	heads, dim, width := vc.NumAttentionHeads, vc.HeadSize(), vc.HiddenSize
	silent := map[int]bool{0: true, 2: true} // of 4 heads
	for l := range vc.NumHiddenLayers {
		ow := w["vision_model.encoder.layers."+string(rune('0'+l))+".self_attn.out_proj.weight"]
		for r := range width {
			for h := range silent {
				for d := range dim {
					ow.Data[r*heads*dim+h*dim+d] = 0
				}
			}
		}
	}
	pcfg, pw, err := Heads(cfg, w, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if pv := pcfg.VisionConfig; pv.NumAttentionHeads != heads/2 || pv.HeadDim != dim || pv.AttentionWidth() != width/2 || pcfg.TextConfig != cfg.TextConfig {
		t.Fatalf("pruned config %+v", pv)
	}
	if err := pcfg.Validate(); err != nil {
		t.Fatalf("pruned config invalid: %v", err)
	}
	sameEmbedding(t, "heads", cfg, w, pcfg, pw)
	// Pruning heads and MLP units both still makes a valid tower.
	if _, _, err := MLP(pcfg, pw, arch.Vision, 0.5); err != nil {
		t.Errorf("MLP after heads: %v", err)
	}
	if _, _, err := Heads(cfg, w, 0); err == nil {
		t.Error("ratio 0 accepted")
	}
}

// sameEmbedding checks, by the reference, that the pruned tower embeds an
// image as the full one does: what was cut (what) wrote nothing.
func sameEmbedding(t *testing.T, what string, cfg arch.Config, w arch.Weights, pcfg arch.Config, pw arch.Weights) {
	t.Helper()
	pixels := make([]float32, 3*cfg.VisionConfig.ImageSize*cfg.VisionConfig.ImageSize)
	for i := range pixels {
		pixels[i] = float32(math.Sin(float64(i) / 3))
	}
	full, err := reference.Vision(cfg, w, pixels, 1)
	if err != nil {
		t.Fatal(err)
	}
	cut, err := reference.Vision(pcfg, pw, pixels, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range full.Embeds {
		if math.Abs(full.Embeds[i]-cut.Embeds[i]) > 1e-5 {
			t.Fatalf("embedding %d: %g pruned, %g full: the %s cut were not the silent ones", i, cut.Embeds[i], full.Embeds[i], what)
		}
	}
}

func fmtName(layer int, p string) string {
	return "vision_model.encoder.layers." + string(rune('0'+layer)) + ".mlp." + p
}
