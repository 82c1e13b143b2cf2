package eval

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestOutcomeLevelsAndClassConfusion(t *testing.T) {
	// The example by hand (see TestComputeExample for the samples):
	//   PASS: good parts 4; PASSed: samples 1, 2, 7 (3), of them good 1, 2 -> P 2/3, R 2/4
	//   FAIL: defective 4; FAILed: samples 4, 5, 6, 8 (4), defective 5, 6, 8 -> P 3/4, R 3/4
	//   decided classes (true -> decided): good -> good, good, UNCERTAIN, scratch;
	//   scratch -> scratch, dent; dent -> good, dent.
	r := Compute(example)
	want := []OutcomeMetrics{
		{Outcome: "PASS", Support: 4, Predicted: 3, Correct: 2, Precision: 2.0 / 3, Recall: 0.5},
		{Outcome: "FAIL", Support: 4, Predicted: 4, Correct: 3, Precision: 0.75, Recall: 0.75},
	}
	for i, w := range want {
		g := r.Outcomes[i]
		if g.Outcome != w.Outcome || g.Support != w.Support || g.Predicted != w.Predicted || g.Correct != w.Correct ||
			math.Abs(float64(g.Precision-w.Precision)) > 1e-12 || math.Abs(float64(g.Recall-w.Recall)) > 1e-12 {
			t.Errorf("outcome %d = %+v, want %+v", i, g, w)
		}
	}
	wantCC := ClassConfusion{
		Labels:    []string{"good", "dent", "scratch"},
		Predicted: []string{"good", "dent", "scratch", "UNCERTAIN"},
		Counts:    [][]int{{2, 0, 1, 1}, {1, 1, 0, 0}, {0, 1, 1, 0}},
	}
	if !reflect.DeepEqual(r.ClassConfusion, wantCC) {
		t.Errorf("class confusion %+v, want %+v", r.ClassConfusion, wantCC)
	}

	// A MISSED sample is its own column after UNCERTAIN; no FAIL at all
	// leaves the FAIL precision undefined (null in JSON).
	r = Compute([]Sample{
		{Good: true, Outcome: "PASS"},
		{Label: "dent", Outcome: "MISSED", DefectScore: math.NaN()},
		{Label: "dent", Outcome: "UNCERTAIN", PredictedClass: "dent"},
	})
	if r.ClassConfusion.Predicted[0] != "good" || !reflect.DeepEqual(r.ClassConfusion.Predicted, []string{"good", "MISSED", "UNCERTAIN"}) ||
		!reflect.DeepEqual(r.ClassConfusion.Counts, [][]int{{1, 0, 0}, {0, 1, 1}}) {
		t.Errorf("class confusion %+v", r.ClassConfusion)
	}
	if r.Outcomes[1].Precision.Defined() || r.Outcomes[1].Recall != 0 {
		t.Errorf("FAIL level %+v: want no precision, recall 0", r.Outcomes[1])
	}
	raw, err := json.Marshal(r.Outcomes[1])
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"outcome":"FAIL","support":2,"predicted":0,"correct":0,"precision":null,"recall":0}` {
		t.Errorf("JSON %s", raw)
	}
}
