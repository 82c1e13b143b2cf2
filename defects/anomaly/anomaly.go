// Package anomaly turns CLIP's patch outputs into anomaly maps over the
// g x g patch grid (docs/anomaly.md):
//
//   - the few-shot map compares each patch token of a frame with a memory
//     bank of the patch tokens of golden (good) images, at the memory layers:
//     fewshot_l(p) = 0.5 * (1 - max_b <unit(h_l[p]), b>), averaged over the
//     layers (PatchCore / WinCLIP+);
//   - the zero-shot map scores each dense patch embedding e(p) against the
//     class embeddings, good class first: zeroshot(p) = 1 - P_good(p), with
//     P(p) = softmax_c(scale * <e(p), t_c>) (MaskCLIP / WinCLIP);
//   - the map is the mean of the maps present, the score its maximum.
//
// It is arithmetic on embeddings only: the model run, the class embeddings
// and the golden images come from the caller.
package anomaly

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Bank is the memory of golden patches: for each memory layer, the unit
// patch tokens of every golden image, one row each.
type Bank struct {
	layers  []int
	patches int // per image
	width   int
	rows    [][]float32 // per layer: [rows, width], unit rows
	owner   [][]int32   // per layer and row: the golden image it came from, 0-based
	images  int

	newSearcher NewSearcher
	searchers   []Searcher // per layer; nil until needed, dropped by Add
}

// Searcher is a bank search over one layer's rows: MaxDot sets best[i] to
// the largest dot product of query row i with any bank row.
type Searcher interface {
	MaxDot(queries, best []float32) error
	Close()
}

// NewSearcher makes a Searcher over rows [n, width] (row-major). The rows
// must not change while it is in use.
type NewSearcher func(rows []float32, width int) (Searcher, error)

// goSearcher is the built-in search, MaxDot in plain Go.
type goSearcher struct {
	rows  []float32
	width int
}

func (g goSearcher) MaxDot(queries, best []float32) error {
	MaxDot(queries, g.rows, g.width, best)
	return nil
}

func (goSearcher) Close() {}

// SetSearcher chooses how FewShot searches the bank, e.g. an optimised
// matrix product in ONNX Runtime (engine.NewBankSearch); nil restores the
// plain-Go MaxDot. Searchers are made when FewShot first needs them and
// again after Add.
func (b *Bank) SetSearcher(f NewSearcher) {
	b.dropSearchers()
	b.newSearcher = f
}

func (b *Bank) dropSearchers() {
	for _, s := range b.searchers {
		if s != nil {
			s.Close()
		}
	}
	b.searchers = nil
}

// Close releases the searchers.
func (b *Bank) Close() { b.dropSearchers() }

func (b *Bank) searcher(i int) (Searcher, error) {
	if b.searchers == nil {
		b.searchers = make([]Searcher, len(b.layers))
	}
	if b.searchers[i] == nil {
		if b.newSearcher == nil {
			b.searchers[i] = goSearcher{b.rows[i], b.width}
		} else {
			s, err := b.newSearcher(b.rows[i], b.width)
			if err != nil {
				return nil, fmt.Errorf("search the memory bank of layer %d: %w", b.layers[i], err)
			}
			b.searchers[i] = s
		}
	}
	return b.searchers[i], nil
}

// NewBank makes an empty bank for the patch tokens of layers, patches per
// image of width values each.
func NewBank(layers []int, patches, width int) (*Bank, error) {
	if len(layers) == 0 {
		return nil, errors.New("memory bank: no layers")
	}
	if patches <= 0 || width <= 0 {
		return nil, fmt.Errorf("memory bank: %d patches of width %d", patches, width)
	}
	return &Bank{layers: slices.Clone(layers), patches: patches, width: width,
		rows: make([][]float32, len(layers)), owner: make([][]int32, len(layers))}, nil
}

// Layers are the memory layers, in the order Add and FewShot take tokens.
func (b *Bank) Layers() []int { return slices.Clone(b.layers) }

// Patches is the number of patches per image.
func (b *Bank) Patches() int { return b.patches }

// Images is the number of golden images added.
func (b *Bank) Images() int { return b.images }

// Len is the number of vectors per layer: every patch of every golden
// image, or fewer after Coreset.
func (b *Bank) Len() int { return len(b.rows[0]) / b.width }

// Add adds a golden image: tokens[i] are its patch tokens [patches*width] at
// Layers()[i]. Nothing is added when it returns an error.
func (b *Bank) Add(tokens [][]float32) error {
	units := make([][]float32, len(b.layers))
	for i, l := range b.layers {
		u, err := b.unitRows(tokens, i)
		if err != nil {
			return fmt.Errorf("add golden image to the memory bank: layer %d: %w", l, err)
		}
		units[i] = u
	}
	b.dropSearchers()
	for i := range b.layers {
		b.rows[i] = append(b.rows[i], units[i]...)
		for range b.patches {
			b.owner[i] = append(b.owner[i], int32(b.images))
		}
	}
	b.images++
	return nil
}

// unitRows checks tokens[i] and returns its rows scaled to unit length.
func (b *Bank) unitRows(tokens [][]float32, i int) ([]float32, error) {
	if len(tokens) != len(b.layers) {
		return nil, fmt.Errorf("%d token sets for %d layers", len(tokens), len(b.layers))
	}
	t := tokens[i]
	if len(t) != b.patches*b.width {
		return nil, fmt.Errorf("%d values, want %d patches x %d", len(t), b.patches, b.width)
	}
	u := make([]float32, len(t))
	for p := 0; p < b.patches; p++ {
		if err := unit(u[p*b.width:(p+1)*b.width], t[p*b.width:(p+1)*b.width]); err != nil {
			return nil, fmt.Errorf("patch %d: %w", p, err)
		}
	}
	return u, nil
}

// unit writes x / |x| into dst, the norm taken in float64.
func unit(dst, x []float32) error {
	var sq float64
	for _, v := range x {
		sq += float64(v) * float64(v)
	}
	n := math.Sqrt(sq)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("vector of length %g", n)
	}
	for i, v := range x {
		dst[i] = float32(float64(v) / n)
	}
	return nil
}

// FewShot writes the few-shot map of one frame into out [patches]:
// for each patch p, the mean over the memory layers of
// 0.5 * (1 - max_b <unit(h_l[p]), b>). tokens are the frame's patch tokens
// in Layers() order. Not safe for concurrent use with Add or SetSearcher. A value is clamped to [0, 1], so a patch found in the
// bank is 0 rather than a rounding error below it.
func (b *Bank) FewShot(tokens [][]float32, out []float64) error {
	if b.images == 0 {
		return errors.New("few-shot map: the memory bank has no golden images")
	}
	if len(out) != b.patches {
		return fmt.Errorf("few-shot map: output has %d values for %d patches", len(out), b.patches)
	}
	clear(out)
	best := make([]float32, b.patches)
	for i, l := range b.layers {
		q, err := b.unitRows(tokens, i)
		if err != nil {
			return fmt.Errorf("few-shot map: layer %d: %w", l, err)
		}
		s, err := b.searcher(i)
		if err != nil {
			return err
		}
		if err := s.MaxDot(q, best); err != nil {
			return fmt.Errorf("few-shot map: layer %d: %w", l, err)
		}
		for p, s := range best {
			out[p] += min(1, max(0, 0.5*(1-float64(s))))
		}
	}
	for p := range out {
		out[p] /= float64(len(b.layers))
	}
	return nil
}

// ZeroShot writes the zero-shot map of one frame into out [patches]:
// 1 - P_good(p), where P(p) = softmax_c(scale * cos(e(p), t_c)). dense is
// the frame's patch embeddings [patches, dim]; classes are unit class
// embeddings, the good class first (defects.ClassEmbedding makes them);
// scale is exp(logit_scale), CLIP's trained temperature.
func ZeroShot(dense []float32, classes [][]float32, scale float64, out []float64) error {
	if len(classes) < 2 {
		return fmt.Errorf("zero-shot map: %d classes, want the good class and at least one defect class", len(classes))
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		return fmt.Errorf("zero-shot map: logit scale %g is not a positive number", scale)
	}
	dim := len(classes[0])
	for c, t := range classes {
		if len(t) != dim {
			return fmt.Errorf("zero-shot map: class %d has %d dimensions, class 0 has %d", c, len(t), dim)
		}
	}
	if dim == 0 || len(dense) != len(out)*dim {
		return fmt.Errorf("zero-shot map: %d values for %d patches of %d dimensions", len(dense), len(out), dim)
	}
	logits := make([]float64, len(classes))
	for p := range out {
		e := dense[p*dim : (p+1)*dim]
		var sq float64
		for _, v := range e {
			sq += float64(v) * float64(v)
		}
		n := math.Sqrt(sq)
		if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			return fmt.Errorf("zero-shot map: patch %d has an embedding of length %g", p, n)
		}
		peak := math.Inf(-1)
		for c, t := range classes {
			var dot float64
			for j, v := range t {
				dot += float64(v) * float64(e[j])
			}
			logits[c] = scale * dot / n
			peak = math.Max(peak, logits[c])
		}
		var sum float64
		for c := range logits {
			logits[c] = math.Exp(logits[c] - peak)
			sum += logits[c]
		}
		out[p] = 1 - logits[0]/sum
	}
	return nil
}

// Mean is the patch-wise mean of the maps that are not nil; nil when all are.
func Mean(maps ...[]float64) []float64 {
	var out []float64
	n := 0
	for _, m := range maps {
		if m == nil {
			continue
		}
		if out == nil {
			out = make([]float64, len(m))
		}
		for p, v := range m {
			out[p] += v
		}
		n++
	}
	for p := range out {
		out[p] /= float64(n)
	}
	return out
}

// Score is the anomaly score of a map: its largest value.
func Score(m []float64) float64 {
	s := math.Inf(-1)
	for _, v := range m {
		s = math.Max(s, v)
	}
	return s
}

// Detector makes a frame's maps from its patch outputs: the few-shot map
// when it has a bank, the zero-shot map when it has classes.
type Detector struct {
	Bank *Bank // nil: no few-shot map
	// Classes are unit class embeddings, the good class first; nil: no
	// zero-shot map.
	Classes [][]float32
	Scale   float64 // exp(logit_scale)
}

// Maps are one frame's anomaly maps over its patches; a map the detector
// does not make is nil.
type Maps struct {
	FewShot  []float64
	ZeroShot []float64
	Map      []float64 // the mean of the maps present
	Score    float64   // the largest value of Map
}

// Maps computes a frame's maps. tokens are its patch tokens in
// d.Bank.Layers() order, dense its patch embeddings [patches, dim].
func (d Detector) Maps(tokens [][]float32, dense []float32, patches int) (Maps, error) {
	var m Maps
	if d.Bank == nil && d.Classes == nil {
		return m, errors.New("anomaly maps: neither golden images nor class prompts to compare with")
	}
	if d.Bank != nil {
		m.FewShot = make([]float64, patches)
		if err := d.Bank.FewShot(tokens, m.FewShot); err != nil {
			return m, err
		}
	}
	if d.Classes != nil {
		m.ZeroShot = make([]float64, patches)
		if err := ZeroShot(dense, d.Classes, d.Scale, m.ZeroShot); err != nil {
			return m, err
		}
	}
	m.Map = Mean(m.FewShot, m.ZeroShot)
	m.Score = Score(m.Map)
	return m, nil
}
