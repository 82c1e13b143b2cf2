// Package processalarm watches each camera's stream of verdicts for what a
// single verdict cannot show: the process going wrong (docs/alarms.md). A
// Monitor is a sink of the inspection loop; Active evaluates its rules
// against what it has seen and the cameras' live state.
package processalarm

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

// Rules are the thresholds; 0 turns a rule off (config.Alarms documents
// each).
type Rules struct {
	YieldBelow         float64 // percent
	YieldWindow        int
	ConsecutiveFails   int
	ClassShareFactor   float64
	ClassShareWindow   int
	ClassShareBaseline int
	NoPartsAfter       time.Duration
	FPSBelow           float64 // percent of the source's rate
}

// Alarm is one rule's condition holding on one camera.
type Alarm struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"` // warning or critical
	Camera   string `json:"camera"`
	Message  string `json:"message"`
}

// Kinds of process alarm.
const (
	KindLowYield    = "low_yield"
	KindFailStreak  = "fail_streak"
	KindClassRising = "class_rising"
	KindNoParts     = "no_parts"
	KindFPSLow      = "fps_low"
)

// CameraState is what the rules read of a camera beyond its verdicts.
type CameraState struct {
	ID        string
	Triggered bool
	Connected bool    // delivering frames
	FPS       float64 // frames a second it delivers now
	SourceFPS float64 // the rate its source is configured for; 0: unknown
}

// fpsGrace is how long after the monitor starts the frame-rate rule waits:
// a camera's rate is measured over its first seconds.
const fpsGrace = 30 * time.Second

// Monitor keeps each camera's recent verdicts.
type Monitor struct {
	rules   Rules
	now     func() time.Time
	started time.Time

	mu   sync.Mutex
	cams map[string]*history
}

// history is one camera's recent verdicts, newest last.
type history struct {
	outcomes []defects.Outcome
	classes  []string // the FAIL class, "" for other outcomes
	streak   int      // FAILs in a row, up to now
	lastPart time.Time
}

// New watches with rules; now is the clock (time.Now when nil).
func New(rules Rules, now func() time.Time) *Monitor {
	if now == nil {
		now = time.Now
	}
	return &Monitor{rules: rules, now: now, started: now(), cams: map[string]*history{}}
}

// Name is the sink's name.
func (m *Monitor) Name() string { return "process-alarms" }

// SinkOptions: every verdict counts, and keeping up costs little.
func (m *Monitor) SinkOptions() inspect.SinkOptions {
	return inspect.SinkOptions{Queue: 1024, Lossless: true}
}

// Write observes a verdict.
func (m *Monitor) Write(_ context.Context, r *inspect.Result) error {
	m.Observe(r.Verdict)
	return nil
}

// keep is how many verdicts a camera's history holds.
func (m *Monitor) keep() int {
	return max(m.rules.YieldWindow, m.rules.ClassShareBaseline, m.rules.ClassShareWindow, 1)
}

// Observe records one verdict.
func (m *Monitor) Observe(v defects.Verdict) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.cams[v.Camera]
	if h == nil {
		h = &history{}
		m.cams[v.Camera] = h
	}
	class := ""
	if v.Outcome == defects.Fail {
		class = v.Class
		h.streak++
	} else {
		h.streak = 0
	}
	h.outcomes = append(h.outcomes, v.Outcome)
	h.classes = append(h.classes, class)
	if over := len(h.outcomes) - m.keep(); over > 0 {
		h.outcomes = h.outcomes[over:]
		h.classes = h.classes[over:]
	}
	h.lastPart = m.now()
}

// Active is every rule's condition that holds now, by camera then kind.
func (m *Monitor) Active(cams []CameraState) []Alarm {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Alarm
	for _, c := range cams {
		h := m.cams[c.ID]
		if h == nil {
			h = &history{}
		}
		out = append(out, m.verdictRules(c.ID, h)...)
		if r := m.rules.NoPartsAfter; r > 0 && c.Triggered && c.Connected {
			last := h.lastPart
			if last.IsZero() {
				last = m.started
			}
			if idle := now.Sub(last); idle >= r {
				out = append(out, Alarm{KindNoParts, "warning", c.ID,
					fmt.Sprintf("camera %s delivers frames but had no part for %s", c.ID, idle.Round(time.Second))})
			}
		}
		if p := m.rules.FPSBelow; p > 0 && c.Connected && c.SourceFPS > 0 && now.Sub(m.started) >= fpsGrace && c.FPS < c.SourceFPS*p/100 {
			out = append(out, Alarm{KindFPSLow, "warning", c.ID,
				fmt.Sprintf("camera %s delivers %.1f frames a second, below %g%% of its %g", c.ID, c.FPS, p, c.SourceFPS)})
		}
	}
	return out
}

// verdictRules are the rules on a camera's verdicts. Called with mu held.
func (m *Monitor) verdictRules(camera string, h *history) []Alarm {
	var out []Alarm
	r := m.rules
	if r.ConsecutiveFails > 0 && h.streak >= r.ConsecutiveFails {
		out = append(out, Alarm{KindFailStreak, "critical", camera,
			fmt.Sprintf("camera %s: the last %d parts in a row FAILed", camera, h.streak)})
	}
	if r.YieldBelow > 0 && r.YieldWindow > 0 && len(h.outcomes) >= r.YieldWindow {
		pass := 0
		for _, o := range h.outcomes[len(h.outcomes)-r.YieldWindow:] {
			if o == defects.Pass {
				pass++
			}
		}
		if y := 100 * float64(pass) / float64(r.YieldWindow); y < r.YieldBelow {
			out = append(out, Alarm{KindLowYield, "warning", camera,
				fmt.Sprintf("camera %s: yield %.0f%% over the last %d parts, below %g%%", camera, y, r.YieldWindow, r.YieldBelow)})
		}
	}
	if r.ClassShareFactor > 0 && len(h.classes) >= r.ClassShareBaseline && r.ClassShareWindow < r.ClassShareBaseline {
		recent := shares(h.classes[len(h.classes)-r.ClassShareWindow:])
		base := shares(h.classes[len(h.classes)-r.ClassShareBaseline:])
		names := make([]string, 0, len(recent))
		for c := range recent {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			if now, was := recent[c], base[c]; now > r.ClassShareFactor*was && now-was >= 0.10 {
				out = append(out, Alarm{KindClassRising, "warning", camera,
					fmt.Sprintf("camera %s: %s is %.0f%% of the last %d parts, up from %.0f%% of the last %d", camera, c, 100*now, r.ClassShareWindow, 100*was, r.ClassShareBaseline)})
			}
		}
	}
	return out
}

// shares is each FAIL class's share of the parts.
func shares(classes []string) map[string]float64 {
	out := map[string]float64{}
	for _, c := range classes {
		if c != "" {
			out[c] += 1 / float64(len(classes))
		}
	}
	return out
}
