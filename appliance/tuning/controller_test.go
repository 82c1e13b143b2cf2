package tuning

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

func TestControllerDecisions(t *testing.T) {
	ms := time.Millisecond
	lim := Limits{MaxBatch: 8, MaxWait: 20 * ms, Variants: []string{"fp32", "int8"}, Deadline: 100 * ms, Headroom: 0.5, Settle: 2, MemCap: 1000 * MB}
	noSwap := lim
	noSwap.Variants = []string{"fp32"}
	win := func(s Sample) Sample {
		s.At, s.Window = t0, time.Second
		if s.Batches == 0 && s.Frames > 0 {
			s.Batches = 1
		}
		return s
	}
	cases := []struct {
		name   string
		lim    Limits
		start  Settings
		sample Sample
		want   Settings
		reason string // "" means no change
	}{
		{"on time, busy enough: no change", lim, Settings{8, 20 * ms, 0},
			win(Sample{Latency: 80 * ms, Frames: 40, Batches: 10, Busy: 600 * ms, RSS: 500 * MB}), Settings{8, 20 * ms, 0}, ""},
		{"deadline missed: shorten the wait first", lim, Settings{8, 20 * ms, 0},
			win(Sample{Latency: 200 * ms, Frames: 40, Batches: 10, Busy: 600 * ms, RSS: 500 * MB}), Settings{8, 10 * ms, 0}, "shorter batch wait"},
		{"deadline missed, wait under 1ms goes to 0", lim, Settings{8, ms, 0},
			win(Sample{Latency: 200 * ms, Frames: 40, Batches: 10, Busy: 600 * ms}), Settings{8, 0, 0}, "shorter batch wait"},
		{"deadline missed, no wait, encoder not saturated: smaller batches", lim, Settings{8, 0, 0},
			win(Sample{Latency: 200 * ms, Frames: 40, Batches: 10, Busy: 600 * ms}), Settings{4, 0, 0}, "smaller batches"},
		{"deadline missed, saturated: larger batches for throughput", lim, Settings{2, 0, 0},
			win(Sample{Latency: 200 * ms, Frames: 40, Batches: 20, Busy: 990 * ms, Backlog: 6}), Settings{4, 0, 0}, "larger batches for throughput"},
		{"deadline missed at batch 1: lighter variant", lim, Settings{1, 0, 0},
			win(Sample{Latency: 200 * ms, Frames: 5, Batches: 5, Busy: 700 * ms}), Settings{1, 0, 1}, "lighter variant int8"},
		{"deadline missed, nothing left without swaps", noSwap, Settings{1, 0, 0},
			win(Sample{Latency: 200 * ms, Frames: 5, Batches: 5, Busy: 700 * ms}), Settings{1, 0, 0}, ""},
		{"memory short: halve the batch", lim, Settings{8, 20 * ms, 0},
			win(Sample{Latency: 10 * ms, Frames: 5, Batches: 5, RSS: 950 * MB}), Settings{4, 20 * ms, 0}, "memory"},
		{"memory short at batch 1: lighter variant", lim, Settings{1, 20 * ms, 0},
			win(Sample{Latency: 10 * ms, RSS: 950 * MB}), Settings{1, 20 * ms, 1}, "lighter variant int8"},
		{"saturated with a backlog: larger batches", lim, Settings{2, 20 * ms, 0},
			win(Sample{Latency: 40 * ms, Frames: 40, Batches: 20, Busy: 500 * ms, Backlog: 5, RSS: 100 * MB}), Settings{4, 20 * ms, 0}, "load"},
		{"saturated but memory tight: no growth", lim, Settings{2, 20 * ms, 0},
			win(Sample{Latency: 40 * ms, Frames: 40, Batches: 20, Busy: 500 * ms, Backlog: 5, RSS: 800 * MB}), Settings{2, 20 * ms, 0}, ""},
		{"dropped frames count as saturated", lim, Settings{4, 20 * ms, 0},
			win(Sample{Latency: 40 * ms, Frames: 40, Batches: 10, Busy: 500 * ms, Dropped: 3}), Settings{8, 20 * ms, 0}, "load"},
		{"light load: batches shrink to what arrives", lim, Settings{8, 20 * ms, 0},
			win(Sample{Latency: 30 * ms, Frames: 10, Batches: 8, Busy: 100 * ms}), Settings{2, 20 * ms, 0}, "light load"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctl := NewController(c.lim)
			ctl.cur = c.start
			ch, ok := ctl.Decide(c.sample)
			if ok != (c.reason != "") || (ok && !strings.Contains(ch.Reason, c.reason)) {
				t.Fatalf("decided %v %+v, want reason %q", ok, ch, c.reason)
			}
			if got := ctl.Settings(); got != c.want {
				t.Errorf("settings %v, want %v", got, c.want)
			}
			if ok && (ch.From != c.start || ch.To != c.want || !ch.At.Equal(t0)) {
				t.Errorf("change %+v", ch)
			}
		})
	}
}

// TestControllerStepsBackWithHysteresis: after shedding, it waits for
// Settle windows with latency under Headroom x Deadline before each step
// back, and a window in the band between headroom and deadline resets it.
func TestControllerStepsBackWithHysteresis(t *testing.T) {
	ms := time.Millisecond
	ctl := NewController(Limits{MaxBatch: 4, MaxWait: 4 * ms, Variants: []string{"fp32", "int8"}, Deadline: 100 * ms, Headroom: 0.5, Settle: 3})
	ctl.cur = Settings{Batch: 4, Wait: 0, Variant: 1}
	at := t0
	step := func(latency time.Duration) (Change, bool) {
		at = at.Add(time.Second)
		// Full batches, encoder half busy: neither saturated nor light.
		return ctl.Decide(Sample{At: at, Window: time.Second, Latency: latency, Frames: 40, Batches: 10, Busy: 500 * ms})
	}
	seq := []struct {
		latency time.Duration
		want    Settings
		changed bool
	}{
		{30 * ms, Settings{4, 0, 1}, false},
		{30 * ms, Settings{4, 0, 1}, false},
		{70 * ms, Settings{4, 0, 1}, false}, // in the band: calm resets
		{30 * ms, Settings{4, 0, 1}, false},
		{30 * ms, Settings{4, 0, 1}, false},
		{30 * ms, Settings{4, 0, 0}, true}, // heavier variant first
		{30 * ms, Settings{4, 0, 0}, false},
		{30 * ms, Settings{4, 0, 0}, false},
		{30 * ms, Settings{4, ms, 0}, true}, // then the wait, step by step
		{30 * ms, Settings{4, ms, 0}, false},
		{30 * ms, Settings{4, ms, 0}, false},
		{30 * ms, Settings{4, 2 * ms, 0}, true},
	}
	for i, s := range seq {
		_, ok := step(s.latency)
		if ok != s.changed || ctl.Settings() != s.want {
			t.Fatalf("window %d: changed %v settings %v, want %v %v", i, ok, ctl.Settings(), s.changed, s.want)
		}
	}
}
