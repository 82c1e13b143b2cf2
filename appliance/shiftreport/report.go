package shiftreport

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"sort"
	"time"

	"github.com/linesight/linesight/appliance/journal"
)

// Source is where a report's figures come from: the journal.
type Source interface {
	Counters(from, to time.Time) (journal.Counters, error)
	AlarmEvents(from, to time.Time, limit int) ([]journal.AlarmEvent, error)
}

// Report is one shift's report.
type Report struct {
	Line        string        `json:"line"`
	Start       time.Time     `json:"start"`
	End         time.Time     `json:"end"`
	GeneratedAt time.Time     `json:"generated_at"`
	Total       Counts        `json:"total"`
	Cameras     []CameraCount `json:"cameras"`
	// Pareto is the defect classes by FAILs, most first.
	Pareto []ParetoRow `json:"pareto"`
	// Alarms are the alarms raised during the shift, oldest first.
	Alarms []journal.AlarmEvent `json:"alarms"`
}

// Counts are verdicts by outcome, with the yield (PASS over all, MISSED
// and UNCERTAIN included).
type Counts struct {
	Total     int64   `json:"total"`
	Pass      int64   `json:"pass"`
	Fail      int64   `json:"fail"`
	Uncertain int64   `json:"uncertain"`
	Missed    int64   `json:"missed"`
	Yield     float64 `json:"yield"`
}

// CameraCount is one camera's (or part stage's) counts.
type CameraCount struct {
	Camera string `json:"camera"`
	Counts
}

// ParetoRow is one defect class: its FAILs and their share of all FAILs.
type ParetoRow struct {
	Class string  `json:"class"`
	Count int64   `json:"count"` // FAILs
	Share float64 `json:"share"`
	// Cumulative is the share of this class and those before it.
	Cumulative float64 `json:"cumulative"`
}

// Pareto orders defect classes by their FAILs, most first (then by name),
// with each one's share of all FAILs and the running share: the rule of
// the shift report and the dashboard's Pareto chart.
func Pareto(fails map[string]int64) []ParetoRow {
	out := []ParetoRow{}
	var total int64
	for class, n := range fails {
		if n > 0 {
			out = append(out, ParetoRow{Class: class, Count: n})
			total += n
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Count > b.Count || a.Count == b.Count && a.Class < b.Class
	})
	var cum int64
	for i := range out {
		cum += out[i].Count
		out[i].Share = float64(out[i].Count) / float64(total)
		out[i].Cumulative = float64(cum) / float64(total)
	}
	return out
}

func counts(c journal.Counts) Counts {
	return Counts{Total: c.Total, Pass: c.Pass, Fail: c.Fail, Uncertain: c.Uncertain, Missed: c.Missed, Yield: c.Yield()}
}

// maxAlarms bounds the alarms a report lists.
const maxAlarms = 1000

// Build makes the report of the shift [start, end) from src.
func Build(src Source, line string, start, end, now time.Time) (Report, error) {
	cs, err := src.Counters(start, end)
	if err != nil {
		return Report{}, fmt.Errorf("shift report %s: counters: %w", start.Format(time.DateTime), err)
	}
	r := Report{Line: line, Start: start, End: end, GeneratedAt: now, Total: counts(cs.Counts), Cameras: []CameraCount{}, Pareto: []ParetoRow{}}
	for cam, n := range cs.ByCamera {
		r.Cameras = append(r.Cameras, CameraCount{Camera: cam, Counts: counts(n)})
	}
	sort.Slice(r.Cameras, func(i, j int) bool { return r.Cameras[i].Camera < r.Cameras[j].Camera })
	fails := map[string]int64{}
	for class, n := range cs.ByClass {
		fails[class] = n.Fail
	}
	r.Pareto = Pareto(fails)
	events, err := src.AlarmEvents(start, end, 0)
	if err != nil {
		return Report{}, fmt.Errorf("shift report %s: alarms: %w", start.Format(time.DateTime), err)
	}
	r.Alarms = []journal.AlarmEvent{}
	for i := len(events) - 1; i >= 0 && len(r.Alarms) < maxAlarms; i-- {
		if events[i].Event == journal.AlarmRaised {
			r.Alarms = append(r.Alarms, events[i])
		}
	}
	return r, nil
}

//go:embed report.html
var pageSource string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) },
	"time": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
}).Parse(pageSource))

// HTML is the report as one page with nothing to fetch: for a browser, a
// printer or an e-mail.
func (r Report) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("shift report page: %w", err)
	}
	return b.Bytes(), nil
}
