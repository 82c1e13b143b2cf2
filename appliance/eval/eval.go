// Package eval measures a defect-class configuration on a labelled image set:
// how well its defect score ranks defective parts above good ones (AUROC),
// how often its verdicts are right, and where they go wrong.
package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
)

// GoodClass names good samples and PASS predictions in reports, whatever
// the configuration calls its good class.
const GoodClass = "good"

// The outcomes that always have a confusion-matrix column, in this order.
var fixedOutcomes = []string{"PASS", "FAIL", "UNCERTAIN"}

// Sample is one labelled image and what the configuration made of it.
type Sample struct {
	// Label is the defect kind of a defective sample (MVTec AD's folder
	// name, e.g. "scratch"); it is ignored for good samples.
	Label string
	Good  bool
	// DefectScore ranks samples: higher means more likely defective. NaN
	// leaves the sample out of AUROC (e.g. a MISSED frame has no score).
	DefectScore float64
	// Outcome is the verdict: PASS, FAIL, UNCERTAIN or MISSED.
	Outcome string
	// PredictedClass is the verdict's class; it counts as a prediction only
	// for FAIL, and PASS always counts as GoodClass.
	PredictedClass string
}

// Report is the evaluation of a sample set.
type Report struct {
	Samples   int `json:"samples"`
	Good      int `json:"good"`
	Defective int `json:"defective"`
	// AUROC is the image-level area under the ROC curve of DefectScore,
	// defective samples positive: the chance that a random defective
	// sample scores above a random good one, ties counting half.
	AUROC Metric `json:"auroc"`
	// Accuracy is the share of samples whose outcome is right: PASS for
	// good, FAIL for defective. UNCERTAIN and MISSED count as wrong.
	Accuracy  Metric         `json:"accuracy"`
	Confusion Confusion      `json:"confusion"`
	Classes   []ClassMetrics `json:"classes"`
	// Outcomes is the PASS/FAIL level; ClassConfusion the confusion of
	// true and decided classes (levels.go).
	Outcomes       []OutcomeMetrics `json:"outcomes"`
	ClassConfusion ClassConfusion   `json:"class_confusion"`
}

// Confusion counts samples by true label (rows) and outcome (columns).
type Confusion struct {
	Labels   []string `json:"labels"`   // GoodClass first, then defect kinds sorted
	Outcomes []string `json:"outcomes"` // PASS, FAIL, UNCERTAIN, then any others seen, sorted
	Counts   [][]int  `json:"counts"`   // Counts[label][outcome]
}

// ClassMetrics is how well one class is recognised. A sample's true class is
// GoodClass or its Label; its predicted class is GoodClass for PASS, its
// PredictedClass for FAIL, and none otherwise.
type ClassMetrics struct {
	Class     string `json:"class"`
	Support   int    `json:"support"`   // samples of this true class
	Predicted int    `json:"predicted"` // samples predicted as this class
	Correct   int    `json:"correct"`   // both
	Precision Metric `json:"precision"` // Correct / Predicted
	Recall    Metric `json:"recall"`    // Correct / Support
	// AUROC separates this defect kind from the good samples by
	// DefectScore; undefined for the good class.
	AUROC Metric `json:"auroc"`
}

// Metric is a ratio that may be undefined (NaN), such as a precision with no
// predictions. JSON writes an undefined metric as null.
type Metric float64

// Defined reports whether the metric has a value.
func (m Metric) Defined() bool { return !math.IsNaN(float64(m)) }

func (m Metric) String() string {
	if !m.Defined() {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", float64(m))
}

// MarshalJSON writes null for an undefined metric, which JSON has no number for.
func (m Metric) MarshalJSON() ([]byte, error) {
	if !m.Defined() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(m))
}

// UnmarshalJSON reads null as undefined.
func (m *Metric) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*m = Metric(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("read metric: %w", err)
	}
	*m = Metric(f)
	return nil
}

func ratio(num, den int) Metric {
	if den == 0 {
		return Metric(math.NaN())
	}
	return Metric(float64(num) / float64(den))
}

func trueClass(s Sample) string {
	if s.Good {
		return GoodClass
	}
	return s.Label
}

func predictedClass(s Sample) (string, bool) {
	switch s.Outcome {
	case "PASS":
		return GoodClass, true
	case "FAIL":
		return s.PredictedClass, true
	}
	return "", false
}

// Compute evaluates samples.
func Compute(samples []Sample) Report {
	r := Report{Samples: len(samples)}
	var goodScores, defectScores []float64
	kindScores := map[string][]float64{}
	correct := 0
	for _, s := range samples {
		if s.Good {
			r.Good++
			goodScores = appendScore(goodScores, s.DefectScore)
			if s.Outcome == "PASS" {
				correct++
			}
			continue
		}
		r.Defective++
		defectScores = appendScore(defectScores, s.DefectScore)
		kindScores[s.Label] = appendScore(kindScores[s.Label], s.DefectScore)
		if s.Outcome == "FAIL" {
			correct++
		}
	}
	r.AUROC = AUROC(defectScores, goodScores)
	r.Accuracy = ratio(correct, len(samples))
	r.Confusion = confusion(samples)
	r.Classes = classMetrics(samples, goodScores, kindScores)
	r.Outcomes = outcomeMetrics(samples)
	r.ClassConfusion = classConfusion(samples)
	return r
}

func appendScore(scores []float64, x float64) []float64 {
	if math.IsNaN(x) {
		return scores
	}
	return append(scores, x)
}

func confusion(samples []Sample) Confusion {
	labels, outcomes := []string{}, []string{}
	for _, s := range samples {
		if !slices.Contains(labels, trueClass(s)) {
			labels = append(labels, trueClass(s))
		}
		if !slices.Contains(fixedOutcomes, s.Outcome) && !slices.Contains(outcomes, s.Outcome) {
			outcomes = append(outcomes, s.Outcome)
		}
	}
	c := Confusion{Labels: goodFirst(labels), Outcomes: append(slices.Clone(fixedOutcomes), sorted(outcomes)...)}
	c.Counts = make([][]int, len(c.Labels))
	for i := range c.Counts {
		c.Counts[i] = make([]int, len(c.Outcomes))
	}
	for _, s := range samples {
		c.Counts[slices.Index(c.Labels, trueClass(s))][slices.Index(c.Outcomes, s.Outcome)]++
	}
	return c
}

func classMetrics(samples []Sample, goodScores []float64, kindScores map[string][]float64) []ClassMetrics {
	byClass := map[string]*ClassMetrics{}
	get := func(name string) *ClassMetrics {
		if byClass[name] == nil {
			byClass[name] = &ClassMetrics{Class: name}
		}
		return byClass[name]
	}
	for _, s := range samples {
		actual := trueClass(s)
		get(actual).Support++
		if predicted, ok := predictedClass(s); ok {
			get(predicted).Predicted++
			if predicted == actual {
				get(actual).Correct++
			}
		}
	}
	names := make([]string, 0, len(byClass))
	for n := range byClass {
		names = append(names, n)
	}
	out := make([]ClassMetrics, 0, len(names))
	for _, n := range goodFirst(names) {
		m := *byClass[n]
		m.Precision = ratio(m.Correct, m.Predicted)
		m.Recall = ratio(m.Correct, m.Support)
		m.AUROC = Metric(math.NaN())
		if n != GoodClass {
			m.AUROC = AUROC(kindScores[n], goodScores)
		}
		out = append(out, m)
	}
	return out
}

// goodFirst sorts names with GoodClass first.
func goodFirst(names []string) []string {
	out := sorted(names)
	if i := slices.Index(out, GoodClass); i > 0 {
		out = append([]string{GoodClass}, slices.Delete(out, i, i+1)...)
	}
	return out
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// AUROC is the area under the ROC curve for scores of positives against
// negatives, computed as the Mann-Whitney U statistic over n_pos*n_neg: ranks
// over all scores, tied scores sharing the mean of their ranks, so a tie
// between a positive and a negative counts half. Undefined (NaN) when either
// side is empty.
func AUROC(positives, negatives []float64) Metric {
	nPos, nNeg := len(positives), len(negatives)
	if nPos == 0 || nNeg == 0 {
		return Metric(math.NaN())
	}
	type scored struct {
		score    float64
		positive bool
	}
	all := make([]scored, 0, nPos+nNeg)
	for _, x := range positives {
		all = append(all, scored{x, true})
	}
	for _, x := range negatives {
		all = append(all, scored{x, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].score < all[j].score })

	var positiveRanks float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].score == all[i].score {
			j++
		}
		// Items i..j-1 tie; their 1-based ranks i+1..j average to (i+1+j)/2.
		meanRank := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if all[k].positive {
				positiveRanks += meanRank
			}
		}
		i = j
	}
	u := positiveRanks - float64(nPos)*float64(nPos+1)/2
	return Metric(u / (float64(nPos) * float64(nNeg)))
}
