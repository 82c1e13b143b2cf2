package golden

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
)

// MinAuto is the fewest golden samples `threshold: auto` calibrates from:
// a leave-one-out score needs a bank of at least one other image.
const MinAuto = 2

// MinMargin is the least margin above the largest leave-one-out score, in
// map units (0.01 of few-shot map is a cosine 0.02 lower than the closest
// golden patch).
const MinMargin = 0.01

// ErrTooFewForAuto says a set with threshold: auto has fewer than MinAuto
// golden samples.
var ErrTooFewForAuto = errors.New("threshold: auto needs at least 2 golden samples")

// MaxBankRows bounds a set's memory bank, per layer: a bank of more golden
// patches is cut to this many by greedy coreset selection (PatchCore;
// anomaly.Bank.Coreset). 2,048 is 8 golden images of ViT-L/14 at 224
// pixels; its search costs a few per cent of the int8 vision session on a
// 2-core CPU, where 16 images unbounded would cost 5-25%
// (docs/benchmarks.md).
const MaxBankRows = 2048

// LeaveOneOut scores each image embs[i] against bank without its own rows
// (anomaly.Bank.Without): each is, for the purpose, an unseen good part
// scored against the rows the loop searches. bank holds embs in order.
// classes and scale add the zero-shot map when the set has it (classes
// nil: few-shot only), as the loop does.
func LeaveOneOut(bank *anomaly.Bank, embs []Embedding, classes [][]float32, scale float64) ([]float64, error) {
	if len(embs) < MinAuto {
		return nil, fmt.Errorf("%w, the set has %d", ErrTooFewForAuto, len(embs))
	}
	if bank.Images() != len(embs) {
		return nil, fmt.Errorf("leave-one-out: a bank of %d images for %d samples", bank.Images(), len(embs))
	}
	loo := make([]float64, len(embs))
	for i, e := range embs {
		others, err := bank.Without(i)
		if err != nil {
			return nil, fmt.Errorf("leave-one-out score of golden sample %d: %w", i+1, err)
		}
		d := anomaly.Detector{Bank: others, Classes: classes, Scale: scale}
		m, err := d.Maps(e.Tokens, e.Dense, bank.Patches())
		others.Close()
		if err != nil {
			return nil, fmt.Errorf("leave-one-out score of golden sample %d: %w", i+1, err)
		}
		loo[i] = m.Score
	}
	return loo, nil
}

// AutoThreshold is the threshold `auto` takes from the leave-one-out
// scores (docs/anomaly.md): the largest plus a margin of the gap between
// the largest and the median, at least MinMargin, at most 1:
//
//	threshold = min(1, max + max(MinMargin, max - median))
//
// The largest score is the least typical good part the set knows; the gap
// to the median is how far good parts spread, so a set of varied parts
// gets more room than a set of near-identical ones.
func AutoThreshold(loo []float64) (float64, error) {
	if len(loo) < MinAuto {
		return 0, fmt.Errorf("%w, the set has %d", ErrTooFewForAuto, len(loo))
	}
	s := slices.Clone(loo)
	slices.Sort(s)
	hi := s[len(s)-1]
	var med float64
	if n := len(s); n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return math.Min(1, hi+math.Max(MinMargin, hi-med)), nil
}

// Threshold is the set's threshold: the number in the file, else the
// auto threshold from loo.
func Threshold(a *defects.AnomalySettings, loo []float64) (float64, error) {
	if !a.Auto() {
		return a.Threshold, nil
	}
	return AutoThreshold(loo)
}
