package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/eval"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// labelledJournal writes a journal of labelled records in dir and returns
// its file. Worked by hand in TestEvalJournal.
func labelledJournal(t *testing.T, dir string) string {
	t.Helper()
	set := &defects.ClassSet{Name: "parts", Classes: []defects.Class{{Name: "good", Good: true}, {Name: "scratch"}, {Name: "dent"}}}
	setFor := func(string) (*defects.ClassSet, error) { return set, nil }
	j, err := journal.Open(journal.Options{Dir: dir, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	rows := []struct {
		camera string
		at     time.Duration
		o      defects.Outcome
		class  string
		good   float64 // the good class's probability; scratch has the rest
		label  *journal.Label
	}{
		{"cam0", 1 * time.Minute, defects.Pass, "good", 0.9, &journal.Label{Correct: true}},
		{"cam0", 2 * time.Minute, defects.Pass, "good", 0.7, &journal.Label{Class: "scratch"}},
		{"cam0", 3 * time.Minute, defects.Fail, "scratch", 0.2, &journal.Label{Correct: true}},
		{"cam0", 4 * time.Minute, defects.Fail, "scratch", 0.4, &journal.Label{Class: "good"}},
		{"cam0", 5 * time.Minute, defects.Fail, "dent", 0.3, &journal.Label{Class: "scratch"}},
		{"cam0", 6 * time.Minute, defects.Fail, "anomaly", 0.5, &journal.Label{Correct: true}},
		{"cam0", 7 * time.Minute, defects.Uncertain, "scratch", 0.55, &journal.Label{Class: "dent"}},
		{"cam0", 8 * time.Minute, defects.Pass, "good", 0.95, nil},                             // not labelled
		{"cam1", 9 * time.Minute, defects.Pass, "good", 0.95, &journal.Label{Correct: true}},   // another camera
		{"cam0", -24 * time.Hour, defects.Fail, "scratch", 0.1, &journal.Label{Correct: true}}, // before --since
		{"cam0", 10 * time.Minute, defects.Missed, "", 0, nil},                                 // never labelled
	}
	for i, row := range rows {
		at := jt0.Add(row.at)
		v := defects.Verdict{Camera: row.camera, Seq: uint64(i + 1), CapturedAt: at, InferredAt: at, Outcome: row.o, Class: row.class,
			Scores: []defects.ClassScore{{Class: "good", Score: row.good}, {Class: "scratch", Score: 1 - row.good}, {Class: "dent", Score: 0}}}
		if row.o == defects.Missed {
			v.Scores = nil
		}
		if err := j.Write(context.Background(), &inspect.Result{Verdict: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if row.label != nil {
			if _, err := j.SetLabel(uint64(i+1), *row.label, setFor); err != nil {
				t.Fatal(err)
			}
		}
	}
	return j.Path()
}

func TestEvalJournal(t *testing.T) {
	dir := t.TempDir()
	path := labelledJournal(t, dir)
	jsonOut := filepath.Join(t.TempDir(), "eval.json")
	r := mustRun(t, "", "eval", "--journal", path, "--camera", "cam0", "--since", jt0.Format(time.RFC3339), "--json", jsonOut)

	// By hand, the seven labelled records of cam0 since 08:58:30 (truth <- verdict):
	//   good <- PASS good, scratch <- PASS good, scratch <- FAIL scratch, good <- FAIL scratch,
	//   scratch <- FAIL dent, anomaly <- FAIL anomaly, dent <- UNCERTAIN.
	// Outcomes: good parts 2, PASSed 2 (records 1, 2), right 1 -> P 1/2 R 1/2;
	//   defective 5, FAILed 4 (3, 4, 5, 6), right 3 (3, 5, 6) -> P 3/4 R 3/5.
	// Accuracy: records 1, 3, 5, 6: 4/7.
	// Classes: good support 2, predicted 2, correct 1; scratch 3, 2 (3, 4), 1;
	//   dent 1, 1 (5), 0; anomaly 1, 1, 1.
	// AUROC by defect score (1 - good): defective {0.3, 0.8, 0.7, 0.5, 0.45} over
	//   good {0.1, 0.6}: 5 + 2 of 10 pairs = 0.7; scratch {0.3, 0.8, 0.7}: 5/6;
	//   dent {0.45}: 1/2; anomaly {0.5}: 1/2.
	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var rep journalEvalReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	a := rep.All
	if rep.Labelled != 7 || rep.Skipped != 0 || a.Samples != 7 || a.Good != 2 || a.Defective != 5 ||
		fmt.Sprintf("%.4f %.4f", a.AUROC, a.Accuracy) != "0.7000 0.5714" {
		t.Errorf("labelled %d skipped %d samples %d good %d defective %d AUROC %v accuracy %v",
			rep.Labelled, rep.Skipped, a.Samples, a.Good, a.Defective, a.AUROC, a.Accuracy)
	}
	var levels []string
	for _, o := range a.Outcomes {
		levels = append(levels, fmt.Sprintf("%s %d %d %d %s %s", o.Outcome, o.Support, o.Predicted, o.Correct, o.Precision, o.Recall))
	}
	if want := []string{"PASS 2 2 1 0.5000 0.5000", "FAIL 5 4 3 0.7500 0.6000"}; !reflect.DeepEqual(levels, want) {
		t.Errorf("outcome levels %v, want %v", levels, want)
	}
	var classes []string
	for _, c := range a.Classes {
		classes = append(classes, fmt.Sprintf("%s %d %d %d %s %s %s", c.Class, c.Support, c.Predicted, c.Correct, c.Precision, c.Recall, c.AUROC))
	}
	if want := []string{"good 2 2 1 0.5000 0.5000 n/a", "anomaly 1 1 1 1.0000 1.0000 0.5000",
		"dent 1 1 0 0.0000 0.0000 0.5000", "scratch 3 2 1 0.5000 0.3333 0.8333"}; !reflect.DeepEqual(classes, want) {
		t.Errorf("classes\n%s\nwant\n%s", strings.Join(classes, "\n"), strings.Join(want, "\n"))
	}
	wantConfusion := eval.Confusion{Labels: []string{"good", "anomaly", "dent", "scratch"}, Outcomes: []string{"PASS", "FAIL", "UNCERTAIN"},
		Counts: [][]int{{1, 1, 0}, {0, 1, 0}, {0, 0, 1}, {1, 2, 0}}}
	if !reflect.DeepEqual(a.Confusion, wantConfusion) {
		t.Errorf("confusion %+v, want %+v", a.Confusion, wantConfusion)
	}
	wantClassConfusion := eval.ClassConfusion{Labels: []string{"good", "anomaly", "dent", "scratch"},
		Predicted: []string{"good", "anomaly", "dent", "scratch", "UNCERTAIN"},
		Counts:    [][]int{{1, 0, 0, 1, 0}, {0, 1, 0, 0, 0}, {0, 0, 0, 0, 1}, {1, 0, 1, 1, 0}}}
	if !reflect.DeepEqual(a.ClassConfusion, wantClassConfusion) {
		t.Errorf("class confusion %+v, want %+v", a.ClassConfusion, wantClassConfusion)
	}
	// The text is the same report, rendered by the dataset evaluation's table.
	if !strings.Contains(r.stdout, "7 labelled records") || !strings.Contains(r.stdout, a.Table()) {
		t.Errorf("text report:\n%s", r.stdout)
	}

	// The data directory names the journal as well; without filters every
	// labelled record counts: 7 + cam1's + the old one.
	var all journalEvalReport
	out := filepath.Join(t.TempDir(), "all.json")
	mustRun(t, "", "eval", "--journal", dir, "--json", out)
	if data, err = os.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &all); err != nil || all.Labelled != 9 || all.All.Samples != 9 {
		t.Errorf("unfiltered: labelled %d samples %d, %v; want 9", all.Labelled, all.All.Samples, err)
	}
}

func TestEvalJournalErrors(t *testing.T) {
	dir := t.TempDir()
	path := labelledJournal(t, dir)
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--journal", path, "--camera", "cam7"}, 1, "has no labelled records (camera cam7)"},
		{[]string{"--journal", filepath.Join(dir, "nope.db")}, 1, "no such file"},
		{[]string{"--journal", filepath.Join(dir, "images")}, 1, "journal.db"},
		{[]string{"--journal", path, "--since", "yesterday"}, 1, "--since"},
		{[]string{"--journal", path, "extra"}, 2, "Usage: linesight eval --journal FILE"},
	} {
		r := run(t, "", append([]string{"eval"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stder, tc.says) {
			t.Errorf("eval %v: exit %d %s; want %d saying %q", tc.args, r.code, r.stder, tc.code, tc.says)
		}
	}
}
