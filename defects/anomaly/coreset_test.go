package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bankOf adds images random golden images of patches x width to a bank of
// the given layers, with rows drawn around a few shared directions so that
// patches have near neighbours, as patches of good parts do.
func bankOf(t *testing.T, rng *rand.Rand, layers []int, images, patches, width int) (*Bank, [][][]float32) {
	t.Helper()
	b, err := NewBank(layers, patches, width)
	if err != nil {
		t.Fatal(err)
	}
	centres := randomRows(rng, 12, width)
	var all [][][]float32
	for range images {
		tokens := make([][]float32, len(layers))
		for i := range layers {
			tokens[i] = make([]float32, patches*width)
			for p := range patches {
				c := centres[rng.IntN(12)*width:]
				for j := range width {
					tokens[i][p*width+j] = c[j] + 0.3*float32(rng.NormFloat64())
				}
			}
		}
		if err := b.Add(tokens); err != nil {
			t.Fatal(err)
		}
		all = append(all, tokens)
	}
	return b, all
}

// maxDotByHand is the largest dot product of q with any row, in float64.
func maxDotByHand(q []float32, rows []float32, width int) float64 {
	best := math.Inf(-1)
	for r := 0; r < len(rows)/width; r++ {
		var s float64
		for j := range width {
			s += float64(q[j]) * float64(rows[r*width+j])
		}
		best = math.Max(best, s)
	}
	return best
}

func TestCoresetLeavesASmallBankAsItIs(t *testing.T) {
	b, _ := bankOf(t, rand.New(rand.NewPCG(1, 1)), []int{2, 4}, 3, 16, 8)
	before := slices.Clone(b.rows[0])
	got, err := b.Coreset(48)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got {
		if l.Kept != 48 || l.Of != 48 || l.Coverage != 1 || l.MaxRise != 0 {
			t.Errorf("layer %d: %+v, want all 48 rows kept", l.Layer, l)
		}
	}
	if !slices.Equal(before, b.rows[0]) || b.Len() != 48 {
		t.Error("a bank within the size changed")
	}
	if _, err := b.Coreset(0); err == nil {
		t.Error("a coreset of 0 rows was accepted")
	}
}

// The kept rows are rows of the bank; the coverage is what a search by hand
// finds; a frame's few-shot map can only rise, and by no more than the bound.
func TestCoresetCoverageAndItsBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	const patches, width = 32, 24
	b, _ := bankOf(t, rng, []int{5}, 20, patches, width) // 640 rows
	full := slices.Clone(b.rows[0])
	frames := make([][][]float32, 8)
	exact := make([][]float64, len(frames))
	for f := range frames {
		frames[f] = [][]float32{randomRows(rng, patches, width)}
		// Half the frames are golden-like: near the bank's rows.
		if f%2 == 0 {
			for p := range patches {
				r := rng.IntN(640)
				for j := range width {
					frames[f][0][p*width+j] = full[r*width+j] + 0.05*float32(rng.NormFloat64())
				}
			}
		}
		exact[f] = make([]float64, patches)
		if err := b.FewShot(frames[f], exact[f]); err != nil {
			t.Fatal(err)
		}
	}

	got, err := b.Coreset(160)
	if err != nil {
		t.Fatal(err)
	}
	l := got[0]
	if l.Layer != 5 || l.Kept != 160 || l.Of != 640 || b.Len() != 160 || len(b.owner[0]) != 160 {
		t.Fatalf("coreset %+v, bank of %d rows, want 160 of 640", l, b.Len())
	}
	// Every kept row is a row of the full bank.
	for r := range 160 {
		kept := b.rows[0][r*width : (r+1)*width]
		if maxDotByHand(kept, full, width) < 1-1e-6 {
			t.Fatalf("kept row %d is not a row of the bank", r)
		}
	}
	// Coverage: the worst-served full-bank row's best kept neighbour.
	low := math.Inf(1)
	for r := range 640 {
		low = math.Min(low, maxDotByHand(full[r*width:(r+1)*width], b.rows[0], width))
	}
	if math.Abs(l.Coverage-low) > 1e-5 || l.Coverage >= 1 {
		t.Errorf("coverage %g, by hand %g", l.Coverage, low)
	}
	if want := 0.5 * math.Sqrt(2-2*low); math.Abs(l.MaxRise-want) > 1e-5 {
		t.Errorf("max rise %g, want %g", l.MaxRise, want)
	}
	worst := 0.0
	for f := range frames {
		m := make([]float64, patches)
		if err := b.FewShot(frames[f], m); err != nil {
			t.Fatal(err)
		}
		for p := range m {
			rise := m[p] - exact[f][p]
			if rise < -1e-6 || rise > l.MaxRise+1e-6 {
				t.Fatalf("frame %d patch %d: %g with the coreset, %g with the full bank: outside [0, %g]", f, p, m[p], exact[f][p], l.MaxRise)
			}
			worst = max(worst, rise)
		}
	}
	if worst == 0 {
		t.Error("the coreset changed no value: the bound was not exercised")
	}
}

// Farthest-point selection takes one row of each tight cluster before a
// second of any: a bank of 4 clusters cut to 4 rows keeps one of each.
func TestCoresetCoversEveryCluster(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	const width = 32
	b, err := NewBank([]int{1}, 50, width)
	if err != nil {
		t.Fatal(err)
	}
	centres := randomRows(rng, 4, width)
	for c := range 4 {
		tokens := make([]float32, 50*width)
		for p := range 50 {
			for j := range width {
				tokens[p*width+j] = centres[c*width+j] + 0.01*float32(rng.NormFloat64())
			}
		}
		if err := b.Add([][]float32{tokens}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Coreset(4); err != nil {
		t.Fatal(err)
	}
	// Each image is one cluster: each keeps exactly one row.
	if got := slices.Sorted(slices.Values(b.owner[0])); !slices.Equal(got, []int32{0, 1, 2, 3}) {
		t.Errorf("kept rows come from images %v, want one from each of 0-3", got)
	}
}

func TestCoresetIsDeterministic(t *testing.T) {
	a, _ := bankOf(t, rand.New(rand.NewPCG(6, 7)), []int{3, 6}, 10, 16, 12)
	b, _ := bankOf(t, rand.New(rand.NewPCG(6, 7)), []int{3, 6}, 10, 16, 12)
	ra, err := a.Coreset(50)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Coreset(50)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.rows {
		if !slices.Equal(a.rows[i], b.rows[i]) || ra[i] != rb[i] {
			t.Fatalf("layer %d: two coresets of the same bank differ", ra[i].Layer)
		}
	}
}

// Without(i) scores golden image i against the other images' rows alone:
// the same map as a bank built without it.
func TestWithoutLeavesOneImageOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	const patches, width = 9, 10
	b, imgs := bankOf(t, rng, []int{2, 3}, 4, patches, width)
	for leave := range imgs {
		loo, err := b.Without(leave)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := NewBank([]int{2, 3}, patches, width)
		if err != nil {
			t.Fatal(err)
		}
		for i, tok := range imgs {
			if i != leave {
				if err := ref.Add(tok); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, want := make([]float64, patches), make([]float64, patches)
		if err := loo.FewShot(imgs[leave], got); err != nil {
			t.Fatal(err)
		}
		if err := ref.FewShot(imgs[leave], want); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || loo.Images() != 3 || loo.Len() != 3*patches {
			t.Errorf("leaving out image %d: map %v, want %v (%d images, %d rows)", leave, got, want, loo.Images(), loo.Len())
		}
		// Its own bank scores it 0; the others' do not.
		if err := b.FewShot(imgs[leave], want); err != nil {
			t.Fatal(err)
		}
		if slices.Max(want) > 1e-6 || slices.Max(got) < 0.01 {
			t.Errorf("image %d: %g against the whole bank (want 0), %g against the others", leave, slices.Max(want), slices.Max(got))
		}
	}
	if _, err := b.Without(4); err == nil {
		t.Error("leaving out a fifth image of four was accepted")
	}
	one, _ := bankOf(t, rng, []int{2}, 1, patches, width)
	if _, err := one.Without(0); err == nil {
		t.Error("leaving out the only image was accepted")
	}
}
