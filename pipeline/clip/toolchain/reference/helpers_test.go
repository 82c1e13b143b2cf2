package reference

import (
	"math"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// tinyModel is the tiny preset with random weights.
func tinyModel(t *testing.T) (arch.Config, arch.Weights) {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, arch.RandomWeights(cfg, 7)
}

// fill sets every value of a weight.
func fill(w arch.Weights, name string, value float32) {
	for i := range w[name].Data {
		w[name].Data[i] = value
	}
}

// setIdentity makes an [out, in] linear weight copy the first min(out, in)
// features through and drop or zero the rest.
func setIdentity(w arch.Weights, name string) {
	t := w[name]
	out, in := t.Shape[0], t.Shape[1]
	for i := range t.Data {
		t.Data[i] = 0
	}
	for i := 0; i < min(out, in); i++ {
		t.Data[i*in+i] = 1
	}
}

// handLayerNorm is layer normalisation of one vector written out in full,
// independent of the package's row-batched version.
func handLayerNorm(v []float64, gamma, beta []float32, eps float64) []float64 {
	n := float64(len(v))
	mean := 0.0
	for _, x := range v {
		mean += x / n
	}
	variance := 0.0
	for _, x := range v {
		variance += (x - mean) * (x - mean) / n
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = (x-mean)/math.Sqrt(variance+eps)*float64(gamma[i]) + float64(beta[i])
	}
	return out
}

// handProject multiplies v by a PyTorch [out, in] matrix.
func handProject(v []float64, m *arch.Tensor) []float64 {
	out := make([]float64, m.Shape[0])
	for o := range out {
		for i, x := range v {
			out[o] += float64(m.Data[o*len(v)+i]) * x
		}
	}
	return out
}

func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %.12g, want %.12g", what, i, got[i], want[i])
		}
	}
}

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}
