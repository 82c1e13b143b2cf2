package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// partsSet is the class set of the fixture's cam0: good, scratch, dent.
func partsSet() *defects.ClassSet {
	return &defects.ClassSet{Name: "parts", Classes: []defects.Class{
		{Name: "good", Good: true, Threshold: 0.5}, {Name: "scratch", Threshold: 0.6}, {Name: "dent", Threshold: 0.7}}}
}

// setForCam0 maps the fixture's cameras (cam0, cam1) to partsSet and knows no other.
func setForCam0(camera string) (*defects.ClassSet, error) {
	if camera == "cam0" || camera == "cam1" {
		return partsSet(), nil
	}
	return nil, fmt.Errorf("no class set for camera %s", camera)
}

// withoutLabel is a record's JSON with its label removed, to compare the
// rest of it.
func withoutLabel(t *testing.T, r Record) string {
	t.Helper()
	r.Label = nil
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLabelIsStoredWithTheRecordAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, testOptions(dir))
	fixture(t, j)
	before, err := j.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	got, err := j.SetLabel(2, Label{Correct: false, Class: "good", By: "alice", At: at}, setForCam0)
	if err != nil {
		t.Fatal(err)
	}
	want := Label{Correct: false, Class: "good", By: "alice", At: at.UTC()}
	if got.Label == nil || *got.Label != want {
		t.Fatalf("SetLabel returned label %+v, want %+v", got.Label, want)
	}
	// The MQTT link's ack rewrites the record afterwards: the label stays.
	if err := j.Ack(2, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the condition", func() bool { return !mustGet(t, j, 2).PublishedAt.IsZero() })
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, testOptions(dir))
	r, err := j.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Label == nil || *r.Label != want {
		t.Errorf("after reopen label = %+v, want %+v", r.Label, want)
	}
	before.PublishedAt = r.PublishedAt
	if withoutLabel(t, r) != withoutLabel(t, before) || !slices.Equal(r.Embedding, before.Embedding) {
		t.Errorf("labelling changed the record:\n%s\nwas\n%s", withoutLabel(t, r), withoutLabel(t, before))
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"label":{"correct":false,"class":"good","by":"alice","at":"2026-12-03T10:00:00Z"}`) {
		t.Errorf("record JSON %s lacks the label in the contract's shape", raw)
	}
	p, err := j.Query(Query{Labelled: true})
	if err != nil || !slices.Equal(ids(p), []uint64{2}) {
		t.Errorf("labelled records %v, %v; want [2]", ids(p), err)
	}

	// Relabelling replaces; clearing removes, for good.
	if _, err := j.SetLabel(2, Label{Correct: true, By: "bob"}, setForCam0); err != nil {
		t.Fatal(err)
	}
	if r := mustGet(t, j, 2); r.Label == nil || r.Label.Class != "scratch" || r.Label.By != "bob" || !r.Label.Correct {
		t.Errorf("relabelled %+v, want right, scratch (the verdict's class), by bob", r.Label)
	}
	if _, err := j.SetLabel(5, Label{Correct: false, Class: "anomaly", By: "bob"}, setForCam0); err != nil {
		t.Fatal(err)
	}
	old, err := j.ClearLabel(2)
	if err != nil || old.Label == nil || old.Label.By != "bob" {
		t.Fatalf("ClearLabel = %+v, %v; want the record as it was", old.Label, err)
	}
	if _, err := j.ClearLabel(2); !errors.Is(err, ErrNoLabel) {
		t.Errorf("second ClearLabel: %v, want ErrNoLabel", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, testOptions(dir))
	if r := mustGet(t, j, 2); r.Label != nil {
		t.Errorf("cleared label back after reopen: %+v", r.Label)
	}
	if p, err := j.Query(Query{Labelled: true, Oldest: true}); err != nil || !slices.Equal(ids(p), []uint64{5}) {
		t.Errorf("labelled records %v, %v; want [5]", ids(p), err)
	}
}

func TestLabelValidation(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	fixture(t, j)
	noSet := func(string) (*defects.ClassSet, error) { return nil, errors.New("no class set for this camera") }
	for _, tc := range []struct {
		name   string
		id     uint64
		label  Label
		setFor SetFor
		is     error
		msg    string
	}{
		{"unknown record", 99, Label{Correct: true}, setForCam0, ErrNotFound, "record 99"},
		{"MISSED", 6, Label{Correct: false, Class: "good"}, setForCam0, ErrNotLabellable, "MISSED"},
		{"unknown class", 2, Label{Correct: false, Class: "crack"}, setForCam0, nil, `"crack" is not a class of set parts (accepted: good, scratch, dent, anomaly)`},
		{"right but another class", 2, Label{Correct: true, Class: "dent"}, setForCam0, nil, "marked right but its verdict is FAIL scratch, not dent"},
		{"wrong but the same class", 1, Label{Correct: false, Class: "good"}, setForCam0, nil, "marked wrong but good is the class its verdict decided"},
		{"wrong without a class", 1, Label{Correct: false}, setForCam0, nil, "give its true class (accepted: good, scratch, dent, anomaly)"},
		{"UNCERTAIN right", 4, Label{Correct: true}, setForCam0, nil, "UNCERTAIN: it decided no class"},
		{"UNCERTAIN right with its class", 4, Label{Correct: true, Class: "scratch"}, setForCam0, nil, "UNCERTAIN: it decided no class"},
		{"camera without a set", 2, Label{Correct: true}, noSet, nil, "no class set for this camera"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := j.Get(tc.id) // the zero record for the unknown one
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
			_, err = j.SetLabel(tc.id, tc.label, tc.setFor)
			var le *LabelError
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("error %v, want %v", err, tc.is)
			case tc.is == nil && !errors.As(err, &le):
				t.Errorf("error %v is not a LabelError", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if after, err := j.Get(tc.id); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			} else if after.Label != nil || withoutLabel(t, after) != withoutLabel(t, before) {
				t.Errorf("a refused label changed the record: %+v", after.Label)
			}
		})
	}
	// What is accepted: an UNCERTAIN judged wrong, a PASS that was a dent,
	// a FAIL that was something no class names.
	for id, l := range map[uint64]Label{4: {Class: "scratch"}, 3: {Class: "dent"}, 5: {Class: defects.AnomalyClass}} {
		if _, err := j.SetLabel(id, l, setForCam0); err != nil {
			t.Errorf("record %d labelled %s: %v", id, l.Class, err)
		}
	}
	if _, err := j.ClearLabel(1); !errors.Is(err, ErrNoLabel) {
		t.Errorf("clearing an unlabelled record: %v, want ErrNoLabel", err)
	}
	if _, err := j.ClearLabel(42); !errors.Is(err, ErrNotFound) {
		t.Errorf("clearing an unknown record: %v, want ErrNotFound", err)
	}
}

func TestLabelledGood(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	fixture(t, j)
	if _, err := j.SetLabel(2, Label{Class: "good"}, setForCam0); err != nil {
		t.Fatal(err)
	}
	if _, err := j.SetLabel(5, Label{Class: "scratch"}, setForCam0); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[uint64]bool{1: false, 2: true, 5: false} {
		r, err := j.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := LabelledGood(r, partsSet()); got != want {
			t.Errorf("LabelledGood(record %d) = %v, want %v", id, got, want)
		}
	}
}

func TestGoldenCandidate(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	fixture(t, j)
	// 1 PASS unlabelled; 2 FAIL confirmed good (a false reject); 3 PASS
	// labelled scratch; 4 UNCERTAIN unlabelled; 5 FAIL confirmed.
	for id, l := range map[uint64]Label{2: {Class: "good", By: "alice"}, 3: {Class: "scratch", By: "alice"}, 5: {Correct: true}} {
		if _, err := j.SetLabel(id, l, setForCam0); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[uint64]string{1: "", 2: "", 3: "record 3 is labelled scratch by alice, not a good part",
		4: "record 4 is UNCERTAIN and not labelled good", 5: "labelled dent"} {
		r, err := j.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		err = GoldenCandidate(r, partsSet())
		switch {
		case want == "" && err != nil:
			t.Errorf("record %d refused: %v", id, err)
		case want != "" && (!errors.Is(err, ErrNotGoodPart) || !strings.Contains(err.Error(), want)):
			t.Errorf("record %d: %v, want ErrNotGoodPart saying %q", id, err, want)
		}
	}
}

func TestExpiredRecordsLeaveTheLabelIndex(t *testing.T) {
	clock := &fakeClock{t: t0.Add(time.Minute)}
	o := testOptions(t.TempDir())
	o.MaxAge, o.Now = 2*time.Hour, clock.Now
	j := mustOpen(t, o)
	fixture(t, j)
	for _, id := range []uint64{2, 5} {
		if _, err := j.SetLabel(id, Label{Class: "anomaly"}, setForCam0); err != nil {
			t.Fatal(err)
		}
	}
	// The cutoff moves to 09:58:30: record 2 (08:59:10) expires, 5 stays.
	clock.Set(t0.Add(3 * time.Hour))
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().Expired == 4 })
	p, err := j.Query(Query{Labelled: true})
	if err != nil || !slices.Equal(ids(p), []uint64{5}) {
		t.Errorf("labelled records after expiry %v, %v; want [5]", ids(p), err)
	}
}

func TestQueryLabelledWithoutAnyLabel(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	fixture(t, j)
	p, err := j.Query(Query{Labelled: true})
	if err != nil || len(p.Records) != 0 {
		t.Errorf("labelled records of a journal without labels: %v, %v", ids(p), err)
	}
	if _, err := j.Query(Query{Labelled: true, PartID: "P1"}); err == nil {
		t.Error("labelled by part id accepted")
	}
}

func TestDistribution(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	scored := func(camera string, seq uint64, o defects.Outcome, class string, good, scratch float64, anomaly *defects.Anomaly) defects.Verdict {
		v := verdict(camera, seq, t0.Add(time.Duration(seq)*time.Minute), o, class, "")
		v.Scores = []defects.ClassScore{{Class: "good", Score: good}, {Class: "scratch", Score: scratch}}
		v.Anomaly = anomaly
		return v
	}
	rows := []defects.Verdict{
		scored("cam0", 1, defects.Pass, "good", 0.9, 0.1, &defects.Anomaly{Score: 0.05, Threshold: 0.35}),
		scored("cam0", 2, defects.Fail, "scratch", 0.3, 0.7, &defects.Anomaly{Score: 0.55, Threshold: 0.35}),
		scored("cam0", 3, defects.Pass, "good", 0.62, 0.38, &defects.Anomaly{Score: 0.25, Threshold: 0.4}),
		scored("cam9", 4, defects.Pass, "good", 0.99, 0.01, nil), // another set's camera
		verdict("cam0", 5, t0.Add(5*time.Minute), defects.Missed, "", ""),
	}
	for i, v := range rows {
		write(t, j, v, testFrame(8, 8, uint64(i)))
	}
	waitWritten(t, j, uint64(len(rows)))
	// 1 confirmed good; 2 confirmed scratch; 3 was in truth a scratch.
	for id, l := range map[uint64]Label{1: {Correct: true}, 2: {Correct: true}, 3: {Class: "scratch"}} {
		if _, err := j.SetLabel(id, l, setForCam0); err != nil {
			t.Fatal(err)
		}
	}
	set := partsSet()
	set.Anomaly = &defects.AnomalySettings{Golden: true} // threshold auto
	inSet := func(camera string) bool { return camera == "cam0" }
	d, err := j.Distribution(DistributionQuery{Set: set, InSet: inSet, Bins: 10})
	if err != nil {
		t.Fatal(err)
	}
	hist := func(bins map[int]int) Histogram {
		h := newHistogram(10)
		for i, n := range bins {
			h.Counts[i] = n
			h.N += n
		}
		return h
	}
	// Bins of 0.1: 0.9 -> 9, 0.3 -> 3, 0.62 -> 6; 0.1 -> 1, 0.7 -> 7, 0.38 -> 3.
	want := []ClassDistribution{
		{Class: "good", Good: true, Threshold: 0.5, Recent: hist(map[int]int{9: 1, 3: 1, 6: 1}),
			Labelled: LabelSplit{Positive: hist(map[int]int{9: 1}), Negative: hist(map[int]int{3: 1, 6: 1})}},
		{Class: "scratch", Threshold: 0.6, Recent: hist(map[int]int{1: 1, 7: 1, 3: 1}),
			Labelled: LabelSplit{Positive: hist(map[int]int{7: 1, 3: 1}), Negative: hist(map[int]int{1: 1})}},
		// No record scored dent.
		{Class: "dent", Threshold: 0.7, Recent: hist(nil), Labelled: LabelSplit{Positive: hist(nil), Negative: hist(nil)}},
	}
	if d.Recent != 3 || d.Labelled != 3 || d.Truncated || d.Set != "parts" || d.Bins != 10 {
		t.Errorf("counted recent %d labelled %d truncated %v set %s bins %d; want 3, 3, false, parts, 10",
			d.Recent, d.Labelled, d.Truncated, d.Set, d.Bins)
	}
	gotJSON, err := json.Marshal(d.Classes)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("classes\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	a := d.Anomaly
	if a == nil || !a.Auto || a.Threshold == nil || *a.Threshold != 0.4 {
		t.Fatalf("anomaly %+v: want auto with the newest record's threshold 0.4", a)
	}
	if !slices.Equal(a.Recent.Counts, hist(map[int]int{0: 1, 5: 1, 2: 1}).Counts) ||
		!slices.Equal(a.Labelled.Negative.Counts, hist(map[int]int{0: 1}).Counts) ||
		!slices.Equal(a.Labelled.Positive.Counts, hist(map[int]int{5: 1, 2: 1}).Counts) {
		t.Errorf("anomaly histograms %+v", a)
	}

	// A number overrides auto; the limit truncates the recent records.
	set.Anomaly.Threshold = 0.3
	d, err = j.Distribution(DistributionQuery{Set: set, InSet: inSet, Bins: 10, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d.Anomaly.Auto || *d.Anomaly.Threshold != 0.3 || d.Recent != 2 || !d.Truncated {
		t.Errorf("anomaly threshold %v auto %v, recent %d truncated %v; want 0.3, false, 2, true",
			*d.Anomaly.Threshold, d.Anomaly.Auto, d.Recent, d.Truncated)
	}
	// A set without anomaly detection has no anomaly part.
	if d, err := j.Distribution(DistributionQuery{Set: partsSet(), InSet: inSet}); err != nil {
		t.Fatal(err)
	} else if d.Anomaly != nil || d.Bins != 20 {
		t.Errorf("set without anomaly: %+v, bins %d", d.Anomaly, d.Bins)
	}
}
