package journal

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

type tableEncoder map[string][]float32

func (e tableEncoder) EmbedTexts(texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e[t]
	}
	return out, nil
}

func scorer(t *testing.T, goodT, scratchT float64) *defects.Scorer {
	return anomalyScorer(t, goodT, scratchT, nil)
}

// anomalyScorer is scorer with the set's anomaly settings a.
func anomalyScorer(t *testing.T, goodT, scratchT float64, a *defects.AnomalySettings) *defects.Scorer {
	t.Helper()
	set := &defects.ClassSet{Name: "parts", Uncertain: defects.ActionEscalate, Anomaly: a, Classes: []defects.Class{
		{Name: "good", Good: true, Prompts: []string{"g"}, Threshold: goodT},
		{Name: "scratch", Prompts: []string{"s"}, Threshold: scratchT},
	}}
	s, err := defects.Prepare(set, nil, tableEncoder{"g": {1, 0}, "s": {0, 1}}, "model-1", 100)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRescoreReportsFlipsWithoutTouchingRecords(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	// With the good prompt at (1,0) and scratch at (0,1), logit scale 100:
	// (1,0) is good with p≈1, (0,1) scratch with p≈1, and (1,1)/√2 is an
	// even 0.5/0.5. Under the old thresholds (0.6, 0.6) that is UNCERTAIN;
	// under the new (good 0.6, scratch 0.4) it FAILs as scratch.
	old := scorer(t, 0.6, 0.6)
	h := float32(1 / math.Sqrt2)
	embs := [][]float32{{1, 0}, {0, 1}, {h, h}, {h, h}, nil}
	for i, e := range embs {
		v := old.NewVerdict(defects.Capture{}, old.Score(e), e, t0.Add(time.Duration(i)*time.Minute))
		v.Camera, v.Seq, v.CapturedAt = "cam0", uint64(i+1), t0.Add(time.Duration(i)*time.Minute)
		if e == nil {
			v = verdict("cam0", uint64(i+1), v.CapturedAt, defects.Missed, "", "")
		}
		write(t, j, v, nil)
	}
	// One camera the new file has no set for, and an embedding of another
	// model.
	write(t, j, verdict("cam9", 1, t0, defects.Pass, "good", ""), nil)
	other := verdict("cam0", 9, t0.Add(time.Hour), defects.Pass, "good", "")
	other.Embedding, other.ModelDigest = []float32{1, 0}, "model-0"
	write(t, j, other, nil)
	waitWritten(t, j, 7)
	stored := []defects.Outcome{}
	p, err := j.Query(Query{Oldest: true, Camera: "cam0", To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Records {
		stored = append(stored, r.Outcome)
	}
	if want := []defects.Outcome{defects.Pass, defects.Fail, defects.Uncertain, defects.Uncertain, defects.Missed}; !slices.Equal(stored, want) {
		t.Fatalf("stored outcomes %v, want %v", stored, want)
	}

	newer := scorer(t, 0.6, 0.4)
	rep, err := j.Rescore(time.Time{}, time.Time{}, func(camera string) *defects.Scorer {
		if camera == "cam0" {
			return newer
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rescored != 4 || rep.Skipped != 3 {
		t.Errorf("rescored %d skipped %d, want 4 and 3 (MISSED, unknown camera, other model)", rep.Rescored, rep.Skipped)
	}
	if want := (Counts{Total: 4, Pass: 1, Fail: 1, Uncertain: 2}); rep.Before != want {
		t.Errorf("before %+v, want %+v", rep.Before, want)
	}
	if want := (Counts{Total: 4, Pass: 1, Fail: 3}); rep.After != want {
		t.Errorf("after %+v, want %+v", rep.After, want)
	}
	// The uncertain records' class was the most probable one; at an exact
	// tie the scorer's first class (good) wins.
	want := []Flip{{From: defects.Uncertain, FromClass: "good", To: defects.Fail, ToClass: "scratch", Count: 2}}
	if !slices.Equal(rep.Flips, want) {
		t.Errorf("flips %+v, want %+v", rep.Flips, want)
	}
	// A range: only the minute of the third record.
	rep, err = j.Rescore(t0.Add(2*time.Minute), t0.Add(3*time.Minute), func(string) *defects.Scorer { return newer })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rescored != 1 || len(rep.Flips) != 1 || rep.Flips[0].Count != 1 {
		t.Errorf("one-minute range: %+v", rep)
	}
	if r := mustGet(t, j, 3); r.Outcome != defects.Uncertain {
		t.Errorf("record 3 was changed to %s", r.Outcome)
	}
}

// A verdict FAILed by its anomaly score is re-scored by the same rule: the
// stored score against the new file's threshold (a number), or against the
// threshold it was judged with (auto); a set without anomaly detection
// judges by the classes alone.
func TestRescoreAppliesTheAnomalyRule(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	old := anomalyScorer(t, 0.6, 0.6, &defects.AnomalySettings{ZeroShot: true, Threshold: 0.3})
	emb := []float32{1, 0}
	v := old.NewVerdict(defects.Capture{}, old.Score(emb), emb, t0) // PASS by the classes
	v.Camera, v.Seq, v.CapturedAt = "cam0", 1, t0
	v.ApplyAnomaly(&defects.Anomaly{Score: 0.4, Threshold: 0.3})
	write(t, j, v, nil)
	waitWritten(t, j, 1)
	if r := mustGet(t, j, 1); r.Outcome != defects.Fail || r.Class != defects.AnomalyClass {
		t.Fatalf("stored %s %s, want FAIL anomaly", r.Outcome, r.Class)
	}
	for _, c := range []struct {
		name  string
		a     *defects.AnomalySettings
		flips []Flip
	}{
		{"the same threshold", &defects.AnomalySettings{ZeroShot: true, Threshold: 0.3}, nil},
		{"a higher threshold", &defects.AnomalySettings{ZeroShot: true, Threshold: 0.5},
			[]Flip{{From: defects.Fail, FromClass: defects.AnomalyClass, To: defects.Pass, ToClass: "good", Count: 1}}},
		{"auto", &defects.AnomalySettings{Golden: true}, nil},
		{"no anomaly detection", nil,
			[]Flip{{From: defects.Fail, FromClass: defects.AnomalyClass, To: defects.Pass, ToClass: "good", Count: 1}}},
	} {
		s := anomalyScorer(t, 0.6, 0.6, c.a)
		rep, err := j.Rescore(time.Time{}, time.Time{}, func(string) *defects.Scorer { return s })
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rescored != 1 || !slices.Equal(rep.Flips, c.flips) {
			t.Errorf("%s: rescored %d, flips %+v, want %+v", c.name, rep.Rescored, rep.Flips, c.flips)
		}
	}
}
