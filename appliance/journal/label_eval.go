package journal

import (
	"math"

	"github.com/linesight/linesight/appliance/eval"
	"github.com/linesight/linesight/defects"
)

// goodClass is the name of the good class of the set that scored the
// record: the first of its scores (a verdict lists them in the set's
// order, good first), or the class of a PASS; "" when neither tells.
func (r *Record) goodClass() string {
	if len(r.Scores) > 0 {
		return r.Scores[0].Class
	}
	if r.Outcome == defects.Pass {
		return r.Class
	}
	return ""
}

// EvalSample turns a labelled record into an evaluation sample: its label
// is the truth, its verdict the prediction, and its defect score the
// scorer's (the defect classes' probabilities summed). ok is false for a
// record without a label, and for one whose good class cannot be told (an
// UNCERTAIN verdict without scores).
func (r *Record) EvalSample() (s eval.Sample, ok bool) {
	good := r.goodClass()
	if r.Label == nil || good == "" {
		return eval.Sample{}, false
	}
	s = eval.Sample{Good: r.Label.Class == good, Outcome: string(r.Outcome), PredictedClass: r.Class, DefectScore: math.NaN()}
	if !s.Good {
		s.Label = r.Label.Class
	}
	if len(r.Scores) > 0 {
		s.DefectScore = 0
		for _, c := range r.Scores[1:] {
			s.DefectScore += c.Score
		}
	}
	return s, true
}
