package reference

import (
	"math"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

func TestLayerNormKnownVector(t *testing.T) {
	// x = [1, 2, 3, 4]: mean 2.5, biased variance (2.25+0.25+0.25+2.25)/4 = 1.25.
	x := []float64{1, 2, 3, 4}
	gamma := &arch.Tensor{Shape: []int{4}, Data: []float32{1, 2, 1, 0.5}}
	beta := &arch.Tensor{Shape: []int{4}, Data: []float32{0, 0, 1, -1}}
	eps := 1e-5
	sd := math.Sqrt(1.25 + eps)
	want := []float64{-1.5 / sd, 2 * -0.5 / sd, 0.5/sd + 1, 0.5*1.5/sd - 1}
	assertClose(t, "layerNorm", layerNorm(x, 1, 4, gamma, beta, eps), want, 1e-14)

	// Two rows are normalised separately: a shifted copy of the row gives the same result.
	two := layerNorm([]float64{1, 2, 3, 4, 11, 12, 13, 14}, 2, 4, gamma, beta, eps)
	assertClose(t, "second row", two[4:], want, 1e-12)
}

func TestActivations(t *testing.T) {
	sigmoid := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	for _, x := range []float64{1, -1, 2.5} {
		if got, want := quickGELU(x), x*sigmoid(1.702*x); math.Abs(got-want) > 1e-15 {
			t.Errorf("quickGELU(%g) = %.17g, want %.17g", x, got, want)
		}
	}
	if quickGELU(0) != 0 {
		t.Errorf("quickGELU(0) = %g", quickGELU(0))
	}
	// gelu(x) = x * Phi(x); Phi(1) = 0.8413447460685429 from normal tables.
	if got := gelu(1); math.Abs(got-0.8413447460685429) > 1e-15 {
		t.Errorf("gelu(1) = %.17g", got)
	}
	if got := gelu(-1); math.Abs(got-(-(1 - 0.8413447460685429))) > 1e-15 {
		t.Errorf("gelu(-1) = %.17g", got)
	}
	if _, err := activation("relu"); err == nil {
		t.Error("activation(relu) should fail")
	}
}

func TestSoftmax(t *testing.T) {
	e := math.E
	assertClose(t, "softmax", Softmax([]float64{0, 1}), []float64{1 / (1 + e), e / (1 + e)}, 1e-15)
	// Huge logits must not overflow.
	assertClose(t, "large", Softmax([]float64{1000, 1000}), []float64{0.5, 0.5}, 1e-15)
	if Softmax(nil) != nil {
		t.Error("Softmax(nil) should be nil")
	}
}

func TestCosine(t *testing.T) {
	cases := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 0}, []float64{0, 3}, 0},
		{[]float64{1, 2}, []float64{2, 4}, 1},
		{[]float64{1, 2}, []float64{-1, -2}, -1},
		{[]float64{1, 1}, []float64{1, 0}, 1 / math.Sqrt2},
		{[]float64{0, 0}, []float64{1, 0}, 0},
	}
	for _, c := range cases {
		if got := Cosine(c.a, c.b); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("Cosine(%v, %v) = %g, want %g", c.a, c.b, got, c.want)
		}
	}
}

func TestLinearUsesOutInLayout(t *testing.T) {
	// W is [out=2, in=3]: y0 = 1*x0 + 2*x1 + 3*x2 + 10, y1 = 4*x0 + 5*x1 + 6*x2 + 20.
	w := &arch.Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
	b := &arch.Tensor{Shape: []int{2}, Data: []float32{10, 20}}
	got := linear([]float64{1, 0, -1, 2, 1, 0}, 2, w, b)
	assertClose(t, "linear", got, []float64{1 - 3 + 10, 4 - 6 + 20, 2 + 2 + 10, 8 + 5 + 20}, 0)
}

func TestAttentionSplitsHeads(t *testing.T) {
	// Width 2 with 2 heads: head 0 sees column 0, head 1 column 1, head_dim 1, scale 1.
	// Rows a = [1, 0], b = [0, 2], and q = k = v = x.
	x := []float64{1, 0, 0, 2}
	e := math.E
	e4 := math.Exp(4)
	want := []float64{
		e / (e + 1) * 1,   // head 0, row a: scores [1, 0] over v [1, 0]
		0.5 * 2,           // head 1, row a: scores [0, 0] over v [0, 2]
		0.5 * 1,           // head 0, row b: scores [0, 0] over v [1, 0]
		e4 / (1 + e4) * 2, // head 1, row b: scores [0, 4] over v [0, 2]
	}
	assertClose(t, "attention", attention(x, x, x, 1, 2, 2, 2, false), want, 1e-15)

	// Causal: row a sees only itself.
	causal := attention(x, x, x, 1, 2, 2, 2, true)
	assertClose(t, "causal row a", causal[:2], []float64{1, 0}, 1e-15)
	assertClose(t, "causal row b", causal[2:], want[2:], 1e-15)
}
