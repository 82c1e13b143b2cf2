package config

import (
	"fmt"
	"time"
)

// Alarms are the process alarms: rules on the stream of verdicts that tell
// the line about its process, not about one part (docs/alarms.md). Each
// rule is on by default; 0 turns it off.
type Alarms struct {
	// YieldBelow (percent) raises low_yield when fewer of a camera's last
	// YieldWindow parts passed.
	YieldBelow  float64 `yaml:"yield_below" json:"yield_below"`
	YieldWindow int     `yaml:"yield_window" json:"yield_window"`
	// ConsecutiveFails raises fail_streak when that many parts in a row
	// failed on one camera.
	ConsecutiveFails int `yaml:"consecutive_fails" json:"consecutive_fails"`
	// ClassShareFactor raises class_rising when a defect class's share of
	// a camera's last ClassShareWindow parts is more than this many times
	// its share of the last ClassShareBaseline, and at least 10 points.
	ClassShareFactor   float64 `yaml:"class_share_factor" json:"class_share_factor"`
	ClassShareWindow   int     `yaml:"class_share_window" json:"class_share_window"`
	ClassShareBaseline int     `yaml:"class_share_baseline" json:"class_share_baseline"`
	// NoPartsAfter raises no_parts when a triggered camera that delivers
	// frames (the line runs) had no part for this long.
	NoPartsAfter time.Duration `yaml:"no_parts_after" json:"no_parts_after"`
	// FPSBelow (percent) raises fps_low when a camera delivers fewer
	// frames a second than that share of its source's configured rate.
	FPSBelow float64 `yaml:"fps_below" json:"fps_below"`
}

// Process alarm defaults.
const (
	DefaultYieldBelow         = 80
	DefaultYieldWindow        = 50
	DefaultConsecutiveFails   = 5
	DefaultClassShareFactor   = 2
	DefaultClassShareWindow   = 50
	DefaultClassShareBaseline = 1000
	DefaultNoPartsAfter       = 10 * time.Minute
	DefaultFPSBelow           = 50
)

func applyAlarmDefaults(set func(string, func()), c *Config) {
	a := &c.Alarms
	set("alarms.yield_below", func() { a.YieldBelow = DefaultYieldBelow })
	set("alarms.yield_window", func() { a.YieldWindow = DefaultYieldWindow })
	set("alarms.consecutive_fails", func() { a.ConsecutiveFails = DefaultConsecutiveFails })
	set("alarms.class_share_factor", func() { a.ClassShareFactor = DefaultClassShareFactor })
	set("alarms.class_share_window", func() { a.ClassShareWindow = DefaultClassShareWindow })
	set("alarms.class_share_baseline", func() { a.ClassShareBaseline = DefaultClassShareBaseline })
	set("alarms.no_parts_after", func() { a.NoPartsAfter = DefaultNoPartsAfter })
	set("alarms.fps_below", func() { a.FPSBelow = DefaultFPSBelow })
	set("shifts", func() { c.Shifts = append([]string(nil), DefaultShifts...) })
	applyPartDefaults(set, c)
	applyModbusDefaults(set, c)
	applyOPCUADefaults(set, c)
}

func (v validator) alarms(a *Alarms) {
	if a.YieldBelow < 0 || a.YieldBelow > 100 {
		v.errorf("alarms.yield_below", "%g is out of range (accepted: 0 to 100 percent; 0 turns the rule off)", a.YieldBelow)
	}
	v.intIn("alarms.yield_window", a.YieldWindow, 1, 100000)
	v.intIn("alarms.consecutive_fails", a.ConsecutiveFails, 0, 100000)
	if a.ClassShareFactor != 0 && (a.ClassShareFactor < 1 || a.ClassShareFactor > 100) {
		v.errorf("alarms.class_share_factor", "%g is out of range (accepted: 1 to 100; 0 turns the rule off)", a.ClassShareFactor)
	}
	v.intIn("alarms.class_share_window", a.ClassShareWindow, 1, 100000)
	v.intIn("alarms.class_share_baseline", a.ClassShareBaseline, 1, 1000000)
	if a.ClassShareBaseline <= a.ClassShareWindow {
		v.errorf("alarms.class_share_baseline", "%d must be larger than class_share_window %d", a.ClassShareBaseline, a.ClassShareWindow)
	}
	if a.NoPartsAfter != 0 {
		v.durationIn("alarms.no_parts_after", a.NoPartsAfter, time.Second, 24*time.Hour)
	}
	if a.FPSBelow < 0 || a.FPSBelow > 100 {
		v.errorf("alarms.fps_below", "%g is out of range (accepted: 0 to 100 percent; 0 turns the rule off)", a.FPSBelow)
	}
}

// DefaultShifts are the shift starts of a line that names none.
var DefaultShifts = []string{"06:00", "14:00", "22:00"}

// ShiftStarts reads shift start times ("HH:MM", local, in increasing
// order, 1 to 12 of them) as minutes after midnight.
func ShiftStarts(shifts []string) ([]int, error) {
	if len(shifts) == 0 || len(shifts) > 12 {
		return nil, fmt.Errorf("%d shifts (accepted: 1 to 12 start times)", len(shifts))
	}
	out := make([]int, len(shifts))
	for i, s := range shifts {
		t, err := time.Parse("15:04", s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a time of day HH:MM such as 06:00", s)
		}
		out[i] = t.Hour()*60 + t.Minute()
		if i > 0 && out[i] <= out[i-1] {
			return nil, fmt.Errorf("%s is not after %s: list the starts in the order of the day", s, shifts[i-1])
		}
	}
	return out, nil
}

func (v validator) shifts(shifts []string) {
	if _, err := ShiftStarts(shifts); err != nil {
		v.errorf("shifts", "%v", err)
	}
}
