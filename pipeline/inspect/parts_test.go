package inspect

import (
	"slices"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

// Two cameras see one part: once both views are in, the part's verdict is
// fused (FAIL if either FAILs); a part one camera never sees is MISSED at
// the deadline, naming the missing view; both cameras' own verdicts are
// published too.
func TestPartStageFusesTwoViews(t *testing.T) {
	top, side := triggered("top", 8), triggered("side", 8)
	top.TriggerTimeout, side.TriggerTimeout = time.Minute, time.Minute
	opts := Options{BatchSize: 1, Cameras: []CameraOptions{top, side},
		Parts: []PartOptions{{Name: "housing", Cameras: []string{"top", "side"}, Deadline: 100 * time.Millisecond, MissedAction: defects.ActionReject}}}
	h := start(t, opts, &fakeEmbedder{})

	// Each view's trigger is later than the last frame, so it gets a
	// frame of its own.
	var k time.Duration
	view := func(camera, part string, b byte) {
		k += 10 * time.Millisecond
		if err := h.loop.Trigger(camera, part, h.t0.Add(k)); err != nil {
			t.Fatal(err)
		}
		h.frame(camera, b, k+time.Millisecond)
	}
	view("top", "P-1", 2)  // good
	view("side", "P-1", 3) // scratched
	view("top", "P-2", 2)
	view("side", "P-2", 4)
	view("top", "P-3", 2) // side never sees P-3
	vs := h.wait(8)

	parts := map[string]defects.Verdict{}
	own := 0
	for _, v := range vs {
		if v.Camera == "housing" {
			parts[v.PartID] = v
		} else {
			own++
		}
	}
	if own != 5 {
		t.Errorf("%d camera verdicts, want all 5 views published too", own)
	}
	p1, p2, p3 := parts["P-1"], parts["P-2"], parts["P-3"]
	if p1.Outcome != defects.Fail || p1.View != "side" || p1.Class != "scratch" || len(p1.Views) != 2 || p1.Views[0].Camera != "top" {
		t.Errorf("P-1: %s by %q (%s), views %+v; want FAIL by side, views in stage order", p1.Outcome, p1.View, p1.Class, p1.Views)
	}
	if p2.Outcome != defects.Pass || p2.Action != defects.ActionPass {
		t.Errorf("P-2: %s/%s, want PASS", p2.Outcome, p2.Action)
	}
	if p3.Outcome != defects.Missed || p3.View != "side" || p3.Action != defects.ActionReject || p3.Views[1].Outcome != defects.Missed ||
		!containsAll(p3.Reason, "side", "deadline") {
		t.Errorf("P-3: %s/%s by %q (%s); want MISSED by the missing side view", p3.Outcome, p3.Action, p3.View, p3.Reason)
	}
	st := h.loop.PartStats("housing")
	if st.Parts.Value() != 3 || st.Incomplete.Value() != 1 {
		t.Errorf("stats: %d parts, %d incomplete; want 3 and 1", st.Parts.Value(), st.Incomplete.Value())
	}
}

// The fusion rule on its own: FAIL beats MISSED beats UNCERTAIN beats PASS,
// the safer action among equals.
func TestFusePartRule(t *testing.T) {
	at := time.Unix(100, 0)
	v := func(cam string, o defects.Outcome, a defects.Action) defects.Verdict {
		return defects.Verdict{Camera: cam, Outcome: o, Action: a, CapturedAt: at.Add(-time.Second)}
	}
	cams := []string{"a", "b", "c"}
	for _, c := range []struct {
		views []defects.Verdict
		want  defects.Outcome
		by    string
		act   defects.Action
	}{
		{[]defects.Verdict{v("a", defects.Pass, "pass"), v("b", defects.Pass, "pass"), v("c", defects.Pass, "pass")}, defects.Pass, "a", "pass"},
		{[]defects.Verdict{v("a", defects.Uncertain, "pass"), v("b", defects.Uncertain, "escalate"), v("c", defects.Pass, "pass")}, defects.Uncertain, "b", "escalate"},
		{[]defects.Verdict{v("a", defects.Uncertain, "reject"), v("c", defects.Pass, "pass")}, defects.Missed, "b", "reject"},
		{[]defects.Verdict{v("a", defects.Missed, "reject"), v("b", defects.Fail, "reject"), v("c", defects.Pass, "pass")}, defects.Fail, "b", "reject"},
		{[]defects.Verdict{v("c", defects.Fail, "reject"), v("a", defects.Fail, "reject"), v("b", defects.Pass, "pass")}, defects.Fail, "a", "reject"},
	} {
		got := defects.FusePart("p", "X", cams, c.views, defects.ActionReject, at)
		var seen []string
		for _, w := range got.Views {
			seen = append(seen, w.Camera)
		}
		if got.Outcome != c.want || got.View != c.by || got.Action != c.act || !slices.Equal(seen, cams) || got.Latency != time.Second {
			t.Errorf("views %v: %s/%s by %s (views %v, latency %s); want %s/%s by %s", c.views, got.Outcome, got.Action, got.View, seen, got.Latency, c.want, c.act, c.by)
		}
	}
}
