package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/shiftreport"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/metrics"
)

// countsView is an outcome count with its yield, as the API shows it.
type countsView struct {
	journal.Counts
	Yield float64 `json:"yield"`
}

func viewCounts(c journal.Counts) countsView { return countsView{c, c.Yield()} }

// pick is the camera's counts, or all of them when camera is "".
func pick(c journal.Counters, camera string) journal.Counts {
	if camera == "" {
		return c.Counts
	}
	return c.ByCamera[camera]
}

const maxPoints = 1000

var autoSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 24 * time.Hour}

func (s *Server) statsYield(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	from, to, err := timeRange(c, s.now(), 24*time.Hour)
	if err != nil {
		return err
	}
	camera := c.QueryParam("camera")
	step := autoSteps[len(autoSteps)-1]
	if raw := c.QueryParam("step"); raw != "" {
		if step, err = time.ParseDuration(raw); err != nil || step < time.Minute {
			return badRequest("step must be a duration of at least 1m")
		}
	} else {
		for _, st := range autoSteps {
			if to.Sub(from)/st <= 150 {
				step = st
				break
			}
		}
	}
	from = from.Truncate(step)
	if n := (to.Sub(from) + step - 1) / step; n > maxPoints {
		return badRequest("%d points asked; at most %d: use a larger step or a shorter range", n, maxPoints)
	}
	type point struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
		countsView
	}
	out := struct {
		From   time.Time  `json:"from"`
		To     time.Time  `json:"to"`
		Step   int64      `json:"step_ns"`
		Total  countsView `json:"total"`
		Points []point    `json:"points"`
	}{From: from.UTC(), To: to.UTC(), Step: int64(step), Points: []point{}}
	var total journal.Counts
	for t := from; t.Before(to); t = t.Add(step) {
		end := t.Add(step)
		if end.After(to) {
			end = to
		}
		cs, err := h.Counters(t, end)
		if err != nil {
			return err
		}
		n := pick(cs, camera)
		addCounts(&total, n)
		out.Points = append(out.Points, point{t.UTC(), end.UTC(), viewCounts(n)})
	}
	out.Total = viewCounts(total)
	return c.JSON(http.StatusOK, out)
}

func addCounts(t *journal.Counts, n journal.Counts) {
	t.Total += n.Total
	t.Pass += n.Pass
	t.Fail += n.Fail
	t.Uncertain += n.Uncertain
	t.Missed += n.Missed
}

// paretoScan caps the records read for a per-camera Pareto, which the
// aggregates (by camera or by class, not both) cannot answer.
const paretoScan = 100_000

func (s *Server) statsPareto(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	from, to, err := timeRange(c, s.now(), 24*time.Hour)
	if err != nil {
		return err
	}
	camera := c.QueryParam("camera")
	fails := map[string]int64{}
	sampled := false
	if camera == "" {
		cs, err := h.Counters(from, to)
		if err != nil {
			return err
		}
		for class, n := range cs.ByClass {
			if n.Fail > 0 {
				fails[class] = n.Fail
			}
		}
	} else {
		q := journal.Query{From: from, To: to, Camera: camera, Outcome: defects.Fail, Limit: 10000}
		n := 0
		for {
			page, err := h.Query(q)
			if err != nil {
				return err
			}
			for _, r := range page.Records {
				fails[r.Class]++
			}
			n += len(page.Records)
			if page.Next == "" {
				break
			}
			if n >= paretoScan {
				sampled = true
				break
			}
			q.Cursor = page.Next
		}
	}
	out := struct {
		From      time.Time               `json:"from"`
		To        time.Time               `json:"to"`
		TotalFail int64                   `json:"total_fail"`
		Sampled   bool                    `json:"sampled,omitempty"`
		Classes   []shiftreport.ParetoRow `json:"classes"`
	}{From: from.UTC(), To: to.UTC(), Sampled: sampled, Classes: shiftreport.Pareto(fails)}
	for _, n := range fails {
		out.TotalFail += n
	}
	return c.JSON(http.StatusOK, out)
}

// latencyScan caps the records read for the latency histogram.
const latencyScan = 20_000

func (s *Server) statsLatency(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	from, to, err := timeRange(c, s.now(), 24*time.Hour)
	if err != nil {
		return err
	}
	// The quantiles are the records' own latencies, not histogram bounds: a
	// bucket's edge (102 ms) would say nothing of verdicts that took 52 ms.
	var hist metrics.Histogram
	var latencies []time.Duration
	q := journal.Query{From: from, To: to, Camera: c.QueryParam("camera"), Limit: 10000}
	n, sampled := 0, false
	for {
		page, err := h.Query(q)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if r.Outcome != defects.Missed { // a missed trigger's wait is no inspection time
				hist.Observe(r.Latency)
				latencies = append(latencies, r.Latency)
			}
		}
		n += len(page.Records)
		if page.Next == "" {
			break
		}
		if n >= latencyScan {
			sampled = true
			break
		}
		q.Cursor = page.Next
	}
	slices.Sort(latencies)
	snap := hist.Snapshot()
	return c.JSON(http.StatusOK, map[string]any{
		"from": from.UTC(), "to": to.UTC(), "count": snap.Count, "sampled": sampled,
		"min_ns": snap.Min, "mean_ns": snap.Mean(), "max_ns": snap.Max,
		"p50_ns": metrics.ExactQuantile(latencies, 0.5), "p90_ns": metrics.ExactQuantile(latencies, 0.9),
		"p99_ns":  metrics.ExactQuantile(latencies, 0.99),
		"buckets": snap.Buckets,
	})
}

// defaultShiftStarts are the minutes after midnight shifts begin when the
// server is given none: 06:00, 14:00, 22:00.
var defaultShiftStarts = []int{6 * 60, 14 * 60, 22 * 60}

func (s *Server) shift(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	now := s.now()
	from, err := timeParam(c, "from", now, shiftreport.Start(now, s.opts.ShiftStarts))
	if err != nil {
		return err
	}
	cs, err := h.Counters(from, now)
	if err != nil {
		return err
	}
	byCamera := map[string]countsView{}
	for cam, n := range cs.ByCamera {
		byCamera[cam] = viewCounts(n)
	}
	return c.JSON(http.StatusOK, struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
		countsView
		ByCamera map[string]countsView `json:"by_camera"`
	}{from.UTC(), now.UTC(), viewCounts(cs.Counts), byCamera})
}
