package graph

import (
	"slices"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// What Build puts in an fp32 graph comes back out exactly, both towers; a
// quantised graph says it keeps no float weights.
func TestReadWeightsIsBuildsInverse(t *testing.T) {
	cfg := tinyConfig(t)
	w := arch.RandomWeights(cfg, 4)
	for _, tower := range []arch.Tower{arch.Vision, arch.Text} {
		m, err := Build(cfg, w, tower, Options{Variant: FP32})
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadWeights(m, cfg, tower)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range cfg.Params(tower) {
			if !slices.Equal(got[p.Name].Data, w[p.Name].Data) || !slices.Equal(got[p.Name].Shape, w[p.Name].Shape) {
				t.Errorf("%s %s: not the weights built from", tower, p.Name)
			}
		}
	}
	q, err := Build(cfg, w, arch.Vision, Options{Variant: INT8})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadWeights(q, cfg, arch.Vision); err == nil {
		t.Error("weights read from an int8 graph")
	}
}
