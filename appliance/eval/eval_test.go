package eval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// example is worked out by hand in TestComputeExample.
var example = []Sample{
	{Good: true, DefectScore: 0.1, Outcome: "PASS", PredictedClass: "ok"},
	{Good: true, DefectScore: 0.4, Outcome: "PASS", PredictedClass: "ok"},
	{Good: true, DefectScore: 0.35, Outcome: "UNCERTAIN", PredictedClass: "ok"},
	{Good: true, DefectScore: 0.8, Outcome: "FAIL", PredictedClass: "scratch"},
	{Label: "scratch", DefectScore: 0.8, Outcome: "FAIL", PredictedClass: "scratch"},
	{Label: "scratch", DefectScore: 0.9, Outcome: "FAIL", PredictedClass: "dent"},
	{Label: "dent", DefectScore: 0.35, Outcome: "PASS", PredictedClass: "ok"},
	{Label: "dent", DefectScore: 0.7, Outcome: "FAIL", PredictedClass: "dent"},
}

func TestComputeExample(t *testing.T) {
	// AUROC, good {0.1, 0.4, 0.35, 0.8} vs defective {0.8, 0.9, 0.35, 0.7},
	// counting for each defective score the good scores below it (a tie is ½):
	//   0.8: 0.1 0.4 0.35 below, 0.8 tied -> 3.5
	//   0.9: all four below               -> 4
	//   0.35: 0.1 below, 0.35 tied        -> 1.5
	//   0.7: 0.1 0.4 0.35 below           -> 3
	// 12 of 16 pairs: 0.75.
	// Per kind: scratch {0.8, 0.9}: 3.5+4 = 7.5 of 8 = 0.9375;
	//           dent {0.35, 0.7}:   1.5+3 = 4.5 of 8 = 0.5625.
	// Accuracy: good->PASS twice, defective->FAIL three times: 5/8.
	// Classes (true, predicted): (good,good) (good,good) (good,-) (good,scratch)
	//   (scratch,scratch) (scratch,dent) (dent,good) (dent,dent)
	//   good:    support 4, predicted 3, correct 2 -> P 2/3, R 1/2
	//   dent:    support 2, predicted 2, correct 1 -> P 1/2, R 1/2
	//   scratch: support 2, predicted 2, correct 1 -> P 1/2, R 1/2
	nan := Metric(math.NaN())
	want := Report{
		Samples: 8, Good: 4, Defective: 4,
		AUROC:    0.75,
		Accuracy: 0.625,
		Confusion: Confusion{
			Labels:   []string{"good", "dent", "scratch"},
			Outcomes: []string{"PASS", "FAIL", "UNCERTAIN"},
			Counts:   [][]int{{2, 1, 1}, {1, 1, 0}, {0, 2, 0}},
		},
		Classes: []ClassMetrics{
			{Class: "good", Support: 4, Predicted: 3, Correct: 2, Precision: 2.0 / 3, Recall: 0.5, AUROC: nan},
			{Class: "dent", Support: 2, Predicted: 2, Correct: 1, Precision: 0.5, Recall: 0.5, AUROC: 0.5625},
			{Class: "scratch", Support: 2, Predicted: 2, Correct: 1, Precision: 0.5, Recall: 0.5, AUROC: 0.9375},
		},
	}
	got := Compute(example)
	assertReport(t, got, want)
}

func TestComputeEdgeCases(t *testing.T) {
	nan := Metric(math.NaN())
	tests := []struct {
		name    string
		samples []Sample
		want    Report
	}{
		{
			name: "no samples",
			want: Report{AUROC: nan, Accuracy: nan, Confusion: Confusion{Labels: []string{}, Outcomes: fixedOutcomes, Counts: [][]int{}}, Classes: []ClassMetrics{}},
		},
		{
			// Only good samples: AUROC has no positives. A FAIL for a class
			// no sample has gives that class precision 0 and no recall.
			// MISSED gets a column of its own after the fixed ones.
			name: "good only, a class never true, a missed frame",
			samples: []Sample{
				{Good: true, DefectScore: 0.2, Outcome: "PASS"},
				{Good: true, DefectScore: 0.9, Outcome: "FAIL", PredictedClass: "crack"},
				{Good: true, DefectScore: math.NaN(), Outcome: "MISSED"},
			},
			want: Report{
				Samples: 3, Good: 3, AUROC: nan, Accuracy: 1.0 / 3,
				Confusion: Confusion{
					Labels:   []string{"good"},
					Outcomes: []string{"PASS", "FAIL", "UNCERTAIN", "MISSED"},
					Counts:   [][]int{{1, 1, 0, 1}},
				},
				Classes: []ClassMetrics{
					{Class: "good", Support: 3, Predicted: 1, Correct: 1, Precision: 1, Recall: 1.0 / 3, AUROC: nan},
					{Class: "crack", Support: 0, Predicted: 1, Correct: 0, Precision: 0, Recall: nan, AUROC: nan},
				},
			},
		},
		{
			// The NaN score is left out of AUROC: 0.9 vs 0.2 alone is 1.
			name: "a missed defective frame has no score",
			samples: []Sample{
				{Good: true, DefectScore: 0.2, Outcome: "PASS"},
				{Label: "hole", DefectScore: 0.9, Outcome: "FAIL", PredictedClass: "hole"},
				{Label: "hole", DefectScore: math.NaN(), Outcome: "MISSED"},
			},
			want: Report{
				Samples: 3, Good: 1, Defective: 2, AUROC: 1, Accuracy: 2.0 / 3,
				Confusion: Confusion{
					Labels:   []string{"good", "hole"},
					Outcomes: []string{"PASS", "FAIL", "UNCERTAIN", "MISSED"},
					Counts:   [][]int{{1, 0, 0, 0}, {0, 1, 0, 1}},
				},
				Classes: []ClassMetrics{
					{Class: "good", Support: 1, Predicted: 1, Correct: 1, Precision: 1, Recall: 1, AUROC: nan},
					{Class: "hole", Support: 2, Predicted: 1, Correct: 1, Precision: 1, Recall: 0.5, AUROC: 1},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertReport(t, Compute(tt.samples), tt.want)
		})
	}
}

func TestAUROCHandCases(t *testing.T) {
	tests := []struct {
		name     string
		pos, neg []float64
		want     float64
	}{
		{"perfect", []float64{0.9, 0.8}, []float64{0.1, 0.2}, 1},
		{"inverted", []float64{0.1}, []float64{0.5, 0.6}, 0},
		{"all tied", []float64{0.5, 0.5}, []float64{0.5, 0.5, 0.5}, 0.5},
		// 0.6 beats 0.3 and 0.5; 0.4 beats 0.3 only; 0.3 ties 0.3: (2+1+0.5)/6.
		{"mixed with a tie", []float64{0.6, 0.4, 0.3}, []float64{0.3, 0.5}, 3.5 / 6},
	}
	for _, tt := range tests {
		if got := AUROC(tt.pos, tt.neg); math.Abs(float64(got)-tt.want) > 1e-12 {
			t.Errorf("%s: AUROC = %v, want %v", tt.name, got, tt.want)
		}
	}
	if AUROC(nil, []float64{1}).Defined() || AUROC([]float64{1}, nil).Defined() {
		t.Errorf("AUROC with an empty side should be undefined")
	}
}

// TestAUROCMatchesPairCounting checks the rank formula against the
// definition, on scores rounded to one decimal so that ties are common.
func TestAUROCMatchesPairCounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		pos := make([]float64, 1+rng.IntN(20))
		neg := make([]float64, 1+rng.IntN(20))
		for i := range pos {
			pos[i] = math.Round(rng.Float64()*10) / 10
		}
		for i := range neg {
			neg[i] = math.Round(rng.Float64()*10) / 10
		}
		var wins float64
		for _, p := range pos {
			for _, n := range neg {
				switch {
				case p > n:
					wins++
				case p == n:
					wins += 0.5
				}
			}
		}
		want := wins / float64(len(pos)*len(neg))
		if got := AUROC(pos, neg); math.Abs(float64(got)-want) > 1e-12 {
			t.Fatalf("trial %d: AUROC = %v, pair counting %v (pos %v neg %v)", trial, got, want, pos, neg)
		}
	}
}

func TestReportJSONAndTable(t *testing.T) {
	r := Compute(example)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{`"auroc":0.75`, `"accuracy":0.625`, `"labels":["good","dent","scratch"]`,
		`"counts":[[2,1,1],[1,1,0],[0,2,0]]`, `{"class":"good","support":4,"predicted":3,"correct":2,`, `"recall":0.5,"auroc":null}`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s:\n%s", want, s)
		}
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	assertReport(t, back, r)

	table := r.Table()
	want := `samples   8 (good 4, defective 4)
AUROC     0.7500 (image level, by defect score)
accuracy  0.6250 (good -> PASS, defective -> FAIL)

per outcome (PASS: good parts passed, FAIL: defective parts rejected)
outcome  support  predicted  correct  precision  recall  
PASS     4        3          2        0.6667     0.5000  
FAIL     4        4          3        0.7500     0.7500  

confusion (rows: truth, columns: outcome)
         PASS  FAIL  UNCERTAIN  
good     2     1     1          
dent     1     1     0          
scratch  0     2     0          

class confusion (rows: truth, columns: decided class)
         good  dent  scratch  UNCERTAIN  
good     2     0     1        1          
dent     1     1     0        0          
scratch  0     1     1        0          

per class
class    support  predicted  correct  precision  recall  AUROC vs good  
good     4        3          2        0.6667     0.5000  n/a            
dent     2        2          1        0.5000     0.5000  0.5625         
scratch  2        2          1        0.5000     0.5000  0.9375         
`
	if table != want {
		t.Errorf("Table() =\n%s\nwant\n%s", table, want)
	}
}

// assertReport compares reports, metrics within a tolerance and NaN equal to NaN.
func assertReport(t *testing.T, got, want Report) {
	t.Helper()
	near := func(a, b Metric) bool {
		if !a.Defined() || !b.Defined() {
			return a.Defined() == b.Defined()
		}
		return math.Abs(float64(a-b)) < 1e-12
	}
	if got.Samples != want.Samples || got.Good != want.Good || got.Defective != want.Defective ||
		!near(got.AUROC, want.AUROC) || !near(got.Accuracy, want.Accuracy) {
		t.Errorf("totals: got samples %d good %d defective %d AUROC %v accuracy %v; want %d %d %d %v %v",
			got.Samples, got.Good, got.Defective, got.AUROC, got.Accuracy,
			want.Samples, want.Good, want.Defective, want.AUROC, want.Accuracy)
	}
	if !reflect.DeepEqual(got.Confusion, want.Confusion) {
		t.Errorf("confusion = %+v, want %+v", got.Confusion, want.Confusion)
	}
	if len(got.Classes) != len(want.Classes) {
		t.Fatalf("classes = %+v, want %+v", got.Classes, want.Classes)
	}
	for i, w := range want.Classes {
		g := got.Classes[i]
		if g.Class != w.Class || g.Support != w.Support || g.Predicted != w.Predicted || g.Correct != w.Correct ||
			!near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.AUROC, w.AUROC) {
			t.Errorf("class %d = %+v, want %+v", i, g, w)
		}
	}
}
