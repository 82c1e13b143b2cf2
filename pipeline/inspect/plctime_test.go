package inspect

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/linesight/linesight/defects"
)

// plcCamera is a triggered camera with a 50 ms trigger window.
func plcCamera() CameraOptions {
	c := triggered("cam0", 8)
	c.TriggerWindow = 50 * time.Millisecond
	return c
}

// A camera at 30 frames a second; a trigger whose PLC time is 120 ms in
// the past arrives now: the frame captured nearest to that time is judged,
// not the first after the trigger came.
func TestTriggerAtPicksTheFrameNearestThePLCsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{plcCamera()}}, &fakeEmbedder{})
		const period = 33 * time.Millisecond
		for i := range 8 { // frames at 0, 33, ..., 231 ms
			h.frame("cam0", byte(i), time.Duration(i)*period)
		}
		time.Sleep(240 * time.Millisecond) // now is t0+240ms
		plc := time.Now().Add(-120 * time.Millisecond)
		if err := h.loop.TriggerAt("cam0", "P-1", plc); err != nil {
			t.Fatal(err)
		}
		v := h.wait(1)[0]
		// 120 ms ago is t0+120ms; the frames at 99 and 132 ms are 21 and 12
		// ms from it: seq 5 (the fifth frame, at 132 ms).
		if v.PartID != "P-1" || v.Seq != 5 || !v.TriggeredAt.Equal(plc) || v.FrameOffset != 12*time.Millisecond || v.SharedFrame {
			t.Errorf("verdict seq %d, triggered_at %v (want %v), offset %v, shared %v; want seq 5, offset 12ms", v.Seq, v.TriggeredAt, plc, v.FrameOffset, v.SharedFrame)
		}
	})
}

// A PLC time ahead of the frames waits for them, and takes the nearer of
// the last frame before it and the first after it.
func TestTriggerAtWaitsForTheFrameAfterAndTakesTheNearer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{plcCamera()}}, &fakeEmbedder{})
		h.frame("cam0", 1, 0)
		h.frame("cam0", 2, 30*time.Millisecond)
		if err := h.loop.TriggerAt("cam0", "P-2", h.t0.Add(40*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(h.sink.Verdicts()); n != 0 {
			t.Fatalf("%d verdicts before a frame after the PLC's time came", n)
		}
		h.frame("cam0", 3, 60*time.Millisecond) // 20 ms after; the frame before is 10 ms before
		v := h.wait(1)[0]
		if v.Seq != 2 || v.FrameOffset != -10*time.Millisecond {
			t.Errorf("seq %d offset %v, want seq 2 (10 ms before)", v.Seq, v.FrameOffset)
		}
	})
}

// No frame within the window: a MISSED verdict saying how far the nearest
// was; no later frame at all: the frame before, once the window has
// passed twice.
func TestTriggerAtOutsideTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{plcCamera()}}, &fakeEmbedder{})
		h.frame("cam0", 1, 0)
		h.frame("cam0", 2, 200*time.Millisecond)
		if err := h.loop.TriggerAt("cam0", "far", h.t0.Add(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		v := h.wait(1)[0]
		if v.Outcome != defects.Missed || v.PartID != "far" || !strings.Contains(v.Reason, "more than trigger_window 50ms") {
			t.Errorf("a trigger 100 ms from any frame: %s %q", v.Outcome, v.Reason)
		}
		// The last frame is at 200 ms; a PLC time of 220 ms has no frame
		// after it: the one before is judged once 100 ms have passed.
		time.Sleep(time.Until(h.t0.Add(220 * time.Millisecond)))
		if err := h.loop.TriggerAt("cam0", "last", h.t0.Add(220*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		vs := h.wait(2)
		if v := vs[1]; v.PartID != "last" || v.Outcome == defects.Missed || v.Seq != 2 || v.FrameOffset != -20*time.Millisecond {
			t.Errorf("the frame before as the nearest: %s seq %d offset %v %q", v.Outcome, v.Seq, v.FrameOffset, v.Reason)
		}
	})
}

// Two triggers that resolve to one frame are both answered; the second is
// flagged (the first too while it still waits, which depends on the
// batcher's timing), and counted.
func TestTwoTriggersOnOneFrameAreFlagged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emb := &fakeEmbedder{gate: make(chan struct{})}
		h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{plcCamera()}}, emb)
		h.frame("cam0", 1, 0)
		h.frame("cam0", 2, 100*time.Millisecond)
		for i, at := range []time.Duration{95, 105} {
			if err := h.loop.TriggerAt("cam0", fmt.Sprintf("P-%d", i), h.t0.Add(at*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		close(emb.gate)
		vs := h.wait(2)
		for _, v := range vs {
			if v.Seq != 2 {
				t.Errorf("%s: seq %d, want both on seq 2", v.PartID, v.Seq)
			}
		}
		if vs[1].PartID != "P-1" || !vs[1].SharedFrame {
			t.Errorf("the second part on the frame: %s shared %v, want P-1 flagged", vs[1].PartID, vs[1].SharedFrame)
		}
		if n := h.loop.CameraStats("cam0").SharedFrames.Value(); n != 1 {
			t.Errorf("shared frames counted %d, want 1", n)
		}
	})
}
