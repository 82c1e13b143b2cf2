package processalarm

import (
	"fmt"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

var defaults = Rules{YieldBelow: 80, YieldWindow: 10, ConsecutiveFails: 3, ClassShareFactor: 2, ClassShareWindow: 10,
	ClassShareBaseline: 40, NoPartsAfter: time.Minute, FPSBelow: 50}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func kinds(as []Alarm) string {
	s := ""
	for _, a := range as {
		s += fmt.Sprintf("%s:%s ", a.Kind, a.Camera)
	}
	return s
}

func feed(m *Monitor, camera string, outcomes string) {
	for _, o := range outcomes {
		v := defects.Verdict{Camera: camera, Outcome: defects.Pass, Class: "good"}
		switch o {
		case 'F':
			v.Outcome, v.Class = defects.Fail, "scratch"
		case 'D':
			v.Outcome, v.Class = defects.Fail, "dent"
		case 'M':
			v.Outcome, v.Class = defects.Missed, ""
		}
		m.Observe(v)
	}
}

var cam0 = []CameraState{{ID: "cam0"}}

func TestYieldRaisesAndClears(t *testing.T) {
	m := New(Rules{YieldBelow: 80, YieldWindow: 10}, nil)
	feed(m, "cam0", "PPPPPPPPF") // 9 parts: not a full window yet
	if got := kinds(m.Active(cam0)); got != "" {
		t.Errorf("before a full window: %s", got)
	}
	feed(m, "cam0", "MF") // 7 of 10 passed
	as := m.Active(cam0)
	if kinds(as) != "low_yield:cam0 " || as[0].Message != "camera cam0: yield 70% over the last 10 parts, below 80%" {
		t.Errorf("at 70%%: %+v", as)
	}
	feed(m, "cam0", "PPPPPPPP") // the window slides: 8 of 10
	if got := kinds(m.Active(cam0)); got != "" {
		t.Errorf("at 80%%: %s", got)
	}
	// A line at 0% yield raises it, and with the default rules the FAIL
	// streak too.
	feed(m, "cam0", "FDFDFDFDFDFD")
	if got := kinds(m.Active(cam0)); got != "low_yield:cam0 " {
		t.Errorf("at 0%%: %s", got)
	}
	d := New(defaults, nil)
	feed(d, "cam0", "FDFDFDFDFDFD")
	if got := kinds(d.Active(cam0)); got != "fail_streak:cam0 low_yield:cam0 " {
		t.Errorf("at 0%%: %s", got)
	}
}

func TestFailStreakRaisesAndClears(t *testing.T) {
	m := New(Rules{ConsecutiveFails: 3}, nil)
	feed(m, "cam0", "FF")
	if got := kinds(m.Active(cam0)); got != "" {
		t.Errorf("2 FAILs: %s", got)
	}
	feed(m, "cam0", "D")
	if as := m.Active(cam0); kinds(as) != "fail_streak:cam0 " || as[0].Severity != "critical" {
		t.Errorf("3 FAILs: %+v", as)
	}
	feed(m, "cam0", "P")
	if got := kinds(m.Active(cam0)); got != "" {
		t.Errorf("after a PASS: %s", got)
	}
}

func TestClassRisingAgainstItsBaseline(t *testing.T) {
	m := New(Rules{ClassShareFactor: 2, ClassShareWindow: 10, ClassShareBaseline: 40}, nil)
	// 30 parts with scratch at 1 in 10, then 10 with 4 scratches: 40% now
	// against 10% over the 40.
	feed(m, "cam0", "PPPPPPPPPF"+"PPPPPPPPPF"+"PPPPPPPPPF")
	if got := kinds(m.Active(cam0)); got != "" {
		t.Errorf("before the baseline is full: %s", got)
	}
	feed(m, "cam0", "FPFPFPFPPP")
	as := m.Active(cam0)
	if kinds(as) != "class_rising:cam0 " || as[0].Message != "camera cam0: scratch is 40% of the last 10 parts, up from 18% of the last 40" {
		t.Errorf("scratch rising: %+v", as)
	}
	feed(m, "cam0", "PPPPPPPPPP") // back to none
	if got := kinds(m.Active(cam0)); got != "" {
		t.Errorf("after it fell: %s", got)
	}
}

func TestNoPartsWhileTheLineRuns(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	m := New(Rules{NoPartsAfter: time.Minute}, c.now)
	running := []CameraState{{ID: "st", Triggered: true, Connected: true}}
	c.t = c.t.Add(59 * time.Second)
	if got := kinds(m.Active(running)); got != "" {
		t.Errorf("after 59 s: %s", got)
	}
	c.t = c.t.Add(2 * time.Second)
	if got := kinds(m.Active(running)); got != "no_parts:st " {
		t.Errorf("after 61 s: %s", got)
	}
	// A stopped line (no frames) is not a missing part.
	if got := kinds(m.Active([]CameraState{{ID: "st", Triggered: true}})); got != "" {
		t.Errorf("camera not delivering: %s", got)
	}
	feed(m, "st", "P")
	if got := kinds(m.Active(running)); got != "" {
		t.Errorf("after a part: %s", got)
	}
}

func TestFrameRateBelowTheSources(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	m := New(Rules{FPSBelow: 50}, c.now)
	slow := []CameraState{{ID: "cam0", Connected: true, FPS: 9, SourceFPS: 30}}
	if got := kinds(m.Active(slow)); got != "" {
		t.Errorf("while the rate is measured: %s", got)
	}
	c.t = c.t.Add(fpsGrace)
	if got := kinds(m.Active(slow)); got != "fps_low:cam0 " {
		t.Errorf("9 of 30 fps: %s", got)
	}
	slow[0].FPS = 29
	if got := kinds(m.Active(slow)); got != "" {
		t.Errorf("29 of 30 fps: %s", got)
	}
}
