package anomaly

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// CoresetDims is the width of the random projection the greedy coreset
// selection measures distances in, as PatchCore does: a Johnson-Lindenstrauss
// projection keeps distances between unit vectors within a few per cent at
// 128 dimensions and makes the selection 8x cheaper than at ViT-L/14's 1,024.
const CoresetDims = 128

// CoresetLayer says how one memory layer's rows were subsampled.
type CoresetLayer struct {
	Layer int `json:"layer"`
	Kept  int `json:"kept"`
	Of    int `json:"of"`
	// Coverage is the smallest, over every row of the full bank, of its
	// largest dot product with a kept row: every golden patch has a kept
	// neighbour at least this similar (1 when nothing was dropped).
	Coverage float64 `json:"coverage"`
	// MaxRise bounds how much higher this layer's few-shot value of any
	// patch is with the kept rows than with the full bank:
	// 0.5 * sqrt(2 - 2 * Coverage). A patch's nearest full-bank row b has a
	// kept row c with |b - c| <= sqrt(2 - 2 * Coverage), so <q, c> >=
	// <q, b> - |b - c| for a unit query q. The coreset can only raise a
	// value (it searches a subset), never lower it: it adds false alarms at
	// worst, never misses.
	MaxRise float64 `json:"max_rise"`
}

// Coreset bounds the bank to at most maxRows rows per layer by greedy
// k-center selection (PatchCore's coreset): starting from the first golden
// patch, it keeps, each time, the row farthest from every row kept so far,
// so the kept rows cover the bank as evenly as the count allows. It returns
// each layer's coverage, measured exactly with the bank's search. A bank
// of maxRows rows or fewer is left as it is. Deterministic: the same rows
// give the same coreset.
func (b *Bank) Coreset(maxRows int) ([]CoresetLayer, error) {
	if maxRows < 1 {
		return nil, fmt.Errorf("memory bank coreset: %d rows is not a size", maxRows)
	}
	out := make([]CoresetLayer, len(b.layers))
	kept := make([][]int, len(b.layers))
	for i, l := range b.layers {
		n := len(b.rows[i]) / b.width
		out[i] = CoresetLayer{Layer: l, Kept: n, Of: n, Coverage: 1}
		if n > maxRows {
			kept[i] = greedyCenters(b.rows[i], b.width, maxRows, uint64(l))
			out[i].Kept = maxRows
		}
	}
	full := b.rows
	b.dropSearchers()
	b.rows = make([][]float32, len(full))
	for i := range full {
		if kept[i] == nil {
			b.rows[i] = full[i]
			continue
		}
		rows := make([]float32, 0, len(kept[i])*b.width)
		owner := make([]int32, 0, len(kept[i]))
		for _, r := range kept[i] {
			rows = append(rows, full[i][r*b.width:(r+1)*b.width]...)
			owner = append(owner, b.owner[i][r])
		}
		b.rows[i], b.owner[i] = rows, owner
	}
	for i := range out {
		if kept[i] == nil {
			continue
		}
		s, err := b.searcher(i)
		if err != nil {
			return nil, err
		}
		cov, err := coverage(s, full[i], b.width)
		if err != nil {
			return nil, fmt.Errorf("memory bank coreset: layer %d: %w", b.layers[i], err)
		}
		out[i].Coverage = cov
		out[i].MaxRise = 0.5 * math.Sqrt(max(0, 2-2*cov))
	}
	return out, nil
}

// coverage is the smallest largest dot product of any row of full with the
// searcher's rows, searched in blocks so the product stays small.
func coverage(s Searcher, full []float32, width int) (float64, error) {
	const block = 1024
	n := len(full) / width
	best := make([]float32, block)
	low := math.Inf(1)
	for lo := 0; lo < n; lo += block {
		hi := min(n, lo+block)
		if err := s.MaxDot(full[lo*width:hi*width], best[:hi-lo]); err != nil {
			return 0, err
		}
		for _, v := range best[:hi-lo] {
			low = math.Min(low, float64(v))
		}
	}
	return min(1, low), nil
}

// greedyCenters picks k of the rows [n, width] by farthest-point selection
// in a seeded random projection to CoresetDims dimensions, and returns their
// indices in the order chosen.
func greedyCenters(rows []float32, width, k int, seed uint64) []int {
	n := len(rows) / width
	proj := project(rows, width, seed)
	d := CoresetDims
	dist := make([]float32, n) // squared distance to the nearest chosen row
	for i := range dist {
		dist[i] = float32(math.Inf(1))
	}
	chosen := make([]int, 0, k)
	next := 0
	for len(chosen) < k {
		chosen = append(chosen, next)
		c := proj[next*d : (next+1)*d]
		far, farDist := 0, float32(-1)
		for i := 0; i < n; i++ {
			p := proj[i*d : (i+1)*d]
			var s float32
			for j, v := range c {
				t := p[j] - v
				s += t * t
			}
			if s < dist[i] {
				dist[i] = s
			}
			if dist[i] > farDist {
				far, farDist = i, dist[i]
			}
		}
		next = far
	}
	return chosen
}

// project multiplies rows [n, width] by a seeded Gaussian matrix
// [width, CoresetDims] scaled by 1/sqrt(CoresetDims).
func project(rows []float32, width int, seed uint64) []float32 {
	d := CoresetDims
	rng := rand.New(rand.NewPCG(seed, 0x636f72657365))
	m := make([]float32, width*d)
	scale := 1 / math.Sqrt(float64(d))
	for i := range m {
		m[i] = float32(rng.NormFloat64() * scale)
	}
	n := len(rows) / width
	out := make([]float32, n*d)
	for i := 0; i < n; i++ {
		o := out[i*d : (i+1)*d]
		for j, v := range rows[i*width : (i+1)*width] {
			if v == 0 {
				continue
			}
			mj := m[j*d : (j+1)*d]
			for t := range o {
				o[t] += v * mj[t]
			}
		}
	}
	return out
}

// Without returns a bank of the same layers and search without golden
// image i's rows (0-based, in the order added): a leave-one-out bank that
// keeps the subsampling of b, so a golden image is scored as an unseen part
// is, against the rows the loop searches.
func (b *Bank) Without(image int) (*Bank, error) {
	if image < 0 || image >= b.images {
		return nil, fmt.Errorf("memory bank: no golden image %d of %d", image+1, b.images)
	}
	if b.images < 2 {
		return nil, errors.New("memory bank: leaving out its only golden image leaves it empty")
	}
	o := &Bank{layers: b.layers, patches: b.patches, width: b.width, images: b.images - 1, newSearcher: b.newSearcher,
		rows: make([][]float32, len(b.layers)), owner: make([][]int32, len(b.layers))}
	for i := range b.layers {
		for r, who := range b.owner[i] {
			if int(who) == image {
				continue
			}
			o.rows[i] = append(o.rows[i], b.rows[i][r*b.width:(r+1)*b.width]...)
			o.owner[i] = append(o.owner[i], who)
		}
		if len(o.rows[i]) == 0 {
			return nil, fmt.Errorf("memory bank: layer %d has no rows but golden image %d's", b.layers[i], image+1)
		}
	}
	return o, nil
}
