package shiftreport

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// journalWith writes verdicts into a real journal: per camera, the
// outcomes and FAIL classes given, captured inside [start, start+8h).
func journalWith(t *testing.T, start time.Time) *journal.Journal {
	t.Helper()
	j, err := journal.Open(journal.Options{Dir: t.TempDir(), FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the journal", j) })
	write := func(camera string, at time.Time, o defects.Outcome, class string) {
		v := defects.Verdict{Camera: camera, CapturedAt: at, InferredAt: at, Outcome: o, Class: class, Action: defects.ActionPass}
		if err := j.Write(context.Background(), &inspect.Result{Verdict: v}); err != nil {
			t.Fatal(err)
		}
	}
	at := start.Add(time.Hour)
	for i := range 6 {
		write("top", at.Add(time.Duration(i)*time.Minute), defects.Pass, "good")
	}
	for i := range 3 {
		write("top", at.Add(time.Duration(10+i)*time.Minute), defects.Fail, "scratch")
	}
	write("side", at.Add(20*time.Minute), defects.Fail, "dent")
	write("side", at.Add(21*time.Minute), defects.Uncertain, "good")
	write("side", at.Add(22*time.Minute), defects.Missed, "")
	write("top", start.Add(-time.Minute), defects.Fail, "scratch") // the shift before: not counted
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range []journal.AlarmEvent{
		{At: at.Add(12 * time.Minute), Event: journal.AlarmRaised, ID: "fail_streak:top", Kind: "fail_streak", Severity: "critical", Camera: "top", Message: "3 in a row <b>FAIL</b>"},
		{At: at.Add(13 * time.Minute), Event: journal.AlarmCleared, ID: "fail_streak:top", Kind: "fail_streak", Severity: "critical", Camera: "top"},
		{At: start.Add(-time.Hour), Event: journal.AlarmRaised, ID: "broker_down", Kind: "broker_down", Severity: "critical"},
	} {
		if err := j.AddAlarmEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// A report over a real journal: counts per camera and in all, yield, the
// Pareto of FAIL classes, the alarms raised in the shift; its page
// escapes what it shows.
func TestReportFromTheJournal(t *testing.T) {
	start := time.Now().Add(-48 * time.Hour).Truncate(time.Hour)
	end := start.Add(8 * time.Hour)
	j := journalWith(t, start)
	r, err := Build(j, "line1", start, end, end)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.Total != 12 || r.Total.Pass != 6 || r.Total.Fail != 4 || r.Total.Uncertain != 1 || r.Total.Missed != 1 || r.Total.Yield != 0.5 {
		t.Errorf("total %+v, want 12 parts, 6 PASS, 4 FAIL, 1 UNCERTAIN, 1 MISSED, yield 0.5", r.Total)
	}
	if len(r.Cameras) != 2 || r.Cameras[0].Camera != "side" || r.Cameras[0].Total != 3 || r.Cameras[1].Pass != 6 || r.Cameras[1].Yield != 6.0/9 {
		t.Errorf("cameras %+v", r.Cameras)
	}
	if len(r.Pareto) != 2 || r.Pareto[0].Class != "scratch" || r.Pareto[0].Count != 3 || r.Pareto[0].Share != 0.75 ||
		r.Pareto[1].Class != "dent" || r.Pareto[1].Cumulative != 1 {
		t.Errorf("pareto %+v, want scratch 3 (75%%) then dent", r.Pareto)
	}
	if len(r.Alarms) != 1 || r.Alarms[0].Kind != "fail_streak" {
		t.Errorf("alarms %+v, want the one fail_streak raised in the shift", r.Alarms)
	}
	page, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Shift report: line line1", "<td>scratch</td><td>3</td><td>75.0 %</td>", "3 in a row &lt;b&gt;FAIL&lt;/b&gt;", "<td>side</td><td>3</td>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(page), "<b>FAIL</b>") || strings.Contains(string(page), "http") {
		t.Error("the page shows unescaped text or links out")
	}
}

// At start the writer makes the report of the last shift that ended when
// it is missing, names it by the shift's local start, hands it to Publish,
// and List finds it.
func TestWriterCatchesUpTheLastShift(t *testing.T) {
	now := time.Now().Add(-30 * time.Hour)
	start, _ := Bounds(now, threeShifts)
	prev, _ := Bounds(start.Add(-time.Minute), threeShifts)
	j := journalWith(t, prev)
	dir := filepath.Join(t.TempDir(), Folder)
	published := make(chan Report, 1)
	w := &Writer{Dir: dir, Source: j, Line: "line1", Starts: threeShifts, Now: func() time.Time { return now },
		Publish: func(r Report, data []byte) {
			var back Report
			if json.Unmarshal(data, &back) != nil || back.Total != r.Total {
				t.Errorf("published JSON does not hold the report")
			}
			published <- r
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	r := <-published
	cancel()
	<-done
	if !r.Start.Equal(prev) || !r.End.Equal(start) || r.Total.Total != 12 {
		t.Errorf("caught-up report %v..%v with %d parts, want %v..%v with 12", r.Start, r.End, r.Total.Total, prev, start)
	}
	list, err := List(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != Name(prev) || list[0].Total != 12 {
		t.Fatalf("list %+v", list)
	}
	if _, err := os.Stat(filepath.Join(dir, list[0].HTML)); err != nil {
		t.Errorf("no page beside the JSON: %v", err)
	}
	// A box that saw nothing of the last shift writes no report for it.
	empty, err := journal.Open(journal.Options{Dir: t.TempDir(), FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the empty journal", empty)
	fresh := &Writer{Dir: filepath.Join(t.TempDir(), Folder), Source: empty, Line: "line1", Starts: threeShifts, Now: func() time.Time { return now },
		Publish: func(Report, []byte) { t.Error("a report of a shift with no parts and no alarms") }}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	fresh.Run(ctx)

	// A second start finds it there and writes nothing new.
	w.Publish = func(Report, []byte) { t.Error("the report was written again") }
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	w.Run(ctx)
}
