package anomaly

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randomRows(rng *rand.Rand, rows, dim int) []float32 {
	v := make([]float32, rows*dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestMaxDotMatchesPlainLoop covers the 4x4 blocks, the ragged edges of
// both operands, bank tiles and the split among workers.
func TestMaxDotMatchesPlainLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n, m, dim int }{
		{1, 1, 1}, {3, 5, 7}, {4, 4, 8}, {13, 37, 19}, {70, 2*bankTile + 3, 33}, {256, 130, 64},
	} {
		q, b := randomRows(rng, c.n, c.dim), randomRows(rng, c.m, c.dim)
		got := make([]float32, c.n)
		MaxDot(q, b, c.dim, got)
		for i := 0; i < c.n; i++ {
			want := math.Inf(-1)
			for j := 0; j < c.m; j++ {
				var s float64
				for k := 0; k < c.dim; k++ {
					s += float64(q[i*c.dim+k]) * float64(b[j*c.dim+k])
				}
				want = math.Max(want, s)
			}
			if d := math.Abs(float64(got[i]) - want); d > 1e-4*math.Max(1, math.Abs(want)) {
				t.Fatalf("n=%d m=%d dim=%d: row %d max dot %g, want %g", c.n, c.m, c.dim, i, got[i], want)
			}
		}
	}
}

func TestFewShotByHand(t *testing.T) {
	// Two layers, 2 patches of width 2; one golden image.
	bank, err := NewBank([]int{3, 5}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	golden := [][]float32{{2, 0, 0, 3}, {1, 1, 1, -1}}
	if err := bank.Add(golden); err != nil {
		t.Fatal(err)
	}
	// Layer 3: bank {(1,0), (0,1)}; layer 5: {(1,1)/√2, (1,-1)/√2}.
	frame := [][]float32{
		{-4, -4, 1, 1}, // 135° from both: 0.5*(1+√½); 45° from both: 0.5*(1-√½)
		{0, 5, -1, -1}, // 45° from (1,1): 0.5*(1-√½); 90° from (1,-1), the closer: 0.5
	}
	got := make([]float64, 2)
	if err := bank.FewShot(frame, got); err != nil {
		t.Fatal(err)
	}
	h := 0.5 * (1 - math.Sqrt(0.5))
	want := []float64{(0.5*(1+math.Sqrt(0.5)) + h) / 2, (h + 0.5) / 2}
	for p := range want {
		if math.Abs(got[p]-want[p]) > 1e-6 {
			t.Errorf("patch %d: %.7f, want %.7f", p, got[p], want[p])
		}
	}
	if bank.Images() != 1 || bank.Len() != 2 {
		t.Errorf("bank holds %d images, %d vectors; want 1, 2", bank.Images(), bank.Len())
	}
}

// A golden image scored against a bank that holds it is 0 everywhere.
func TestGoldenAgainstItsOwnBankIsZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const patches, width = 49, 96
	bank, err := NewBank([]int{6, 9}, patches, width)
	if err != nil {
		t.Fatal(err)
	}
	var images [][][]float32
	for i := 0; i < 3; i++ {
		img := [][]float32{randomRows(rng, patches, width), randomRows(rng, patches, width)}
		images = append(images, img)
		if err := bank.Add(img); err != nil {
			t.Fatal(err)
		}
	}
	m := make([]float64, patches)
	for i, img := range images {
		if err := bank.FewShot(img, m); err != nil {
			t.Fatal(err)
		}
		if s := Score(m); s > 1e-6 {
			t.Errorf("golden image %d against its own bank: score %g, want 0", i, s)
		}
	}
	// A new image is not: random directions in 96 dimensions are far apart.
	if err := bank.FewShot([][]float32{randomRows(rng, patches, width), randomRows(rng, patches, width)}, m); err != nil {
		t.Fatal(err)
	}
	if s := Score(m); s < 0.2 {
		t.Errorf("unseen image scores %g, want well above 0", s)
	}
}

func TestZeroShotByHand(t *testing.T) {
	// Patch 0 points at the good class, patch 1 at the defect, patch 2 between.
	dense := []float32{1, 0, 0, 2, 1, 1}
	classes := [][]float32{{1, 0}, {0, 1}}
	got := make([]float64, 3)
	if err := ZeroShot(dense, classes, 3, got); err != nil {
		t.Fatal(err)
	}
	want := []float64{1 / (1 + math.Exp(3)), 1 - 1/(1+math.Exp(3)), 0.5}
	for p := range want {
		if math.Abs(got[p]-want[p]) > 1e-12 {
			t.Errorf("patch %d: %.9f, want %.9f", p, got[p], want[p])
		}
	}
	// Three classes: P_good is the good class's share of all.
	classes = append(classes, []float32{-1, 0})
	if err := ZeroShot(dense[:2], classes, 1, got[:1]); err != nil {
		t.Fatal(err)
	}
	e := math.E
	if w := 1 - e/(e+1+1/e); math.Abs(got[0]-w) > 1e-12 {
		t.Errorf("three classes: %.9f, want %.9f", got[0], w)
	}
}

func TestMeanAndScore(t *testing.T) {
	m := Mean([]float64{0, 1, 0.5}, nil, []float64{1, 0, 0.5})
	if want := []float64{0.5, 0.5, 0.5}; !equal(m, want) {
		t.Errorf("mean %v, want %v", m, want)
	}
	if m := Mean([]float64{0.25, 0.75}, nil); !equal(m, []float64{0.25, 0.75}) {
		t.Errorf("mean of one map %v", m)
	}
	if Mean(nil, nil) != nil {
		t.Error("mean of no maps is not nil")
	}
	if s := Score([]float64{0.1, 0.7, 0.3}); s != 0.7 {
		t.Errorf("score %g, want 0.7", s)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}

func TestBadInputIsAnError(t *testing.T) {
	bank, err := NewBank([]int{1}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 2)
	cases := []struct {
		name, want string
		err        error
	}{
		{"empty bank", "no golden images", bank.FewShot([][]float32{{1, 0, 0, 1}}, out)},
		{"short tokens", "3 values, want 2 patches x 2", bank.Add([][]float32{{1, 0, 0}})},
		{"zero patch", "layer 1: patch 1: vector of length 0", bank.Add([][]float32{{1, 0, 0, 0}})},
		{"missing layer", "0 token sets for 1 layers", bank.Add(nil)},
		{"one class", "1 classes", ZeroShot([]float32{1, 0}, [][]float32{{1, 0}}, 100, out[:1])},
		{"bad scale", "logit scale", ZeroShot([]float32{1, 0}, [][]float32{{1, 0}, {0, 1}}, 0, out[:1])},
		{"wrong dense size", "3 values for 1 patches of 2", ZeroShot([]float32{1, 0, 1}, [][]float32{{1, 0}, {0, 1}}, 1, out[:1])},
		{"zero embedding", "patch 0 has an embedding of length 0", ZeroShot([]float32{0, 0}, [][]float32{{1, 0}, {0, 1}}, 1, out[:1])},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, c.err, c.want)
		}
	}
	if bank.Images() != 0 {
		t.Errorf("failed adds left %d images in the bank", bank.Images())
	}
}

// countingSearcher is the plain-Go search, counting the searchers made and
// closed.
type countingSearcher struct {
	goSearcher
	closed *int
}

func (c countingSearcher) Close() { *c.closed++ }

func TestSetSearcherIsUsedAndRemadeAfterAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const patches, width = 9, 16
	plain, err := NewBank([]int{2}, patches, width)
	if err != nil {
		t.Fatal(err)
	}
	custom, err := NewBank([]int{2}, patches, width)
	if err != nil {
		t.Fatal(err)
	}
	made, closed := 0, 0
	var sizes []int
	custom.SetSearcher(func(rows []float32, w int) (Searcher, error) {
		made++
		sizes = append(sizes, len(rows)/w)
		return countingSearcher{goSearcher{rows, w}, &closed}, nil
	})
	frame := [][]float32{randomRows(rng, patches, width)}
	want, got := make([]float64, patches), make([]float64, patches)
	for i := 0; i < 2; i++ {
		img := [][]float32{randomRows(rng, patches, width)}
		for _, b := range []*Bank{plain, custom} {
			if err := b.Add(img); err != nil {
				t.Fatal(err)
			}
		}
		for j := 0; j < 2; j++ { // the second map reuses the searcher
			if err := plain.FewShot(frame, want); err != nil {
				t.Fatal(err)
			}
			if err := custom.FewShot(frame, got); err != nil {
				t.Fatal(err)
			}
			if !equal(got, want) {
				t.Fatalf("after %d images: %v with the searcher, %v without", i+1, got, want)
			}
		}
	}
	if made != 2 || closed != 1 || sizes[0] != patches || sizes[1] != 2*patches {
		t.Errorf("made %d searchers over %v rows, closed %d; want 2 over [9 18], 1 closed by Add", made, sizes, closed)
	}
	custom.Close()
	if closed != 2 {
		t.Errorf("Close closed %d searchers in all, want 2", closed)
	}
}
