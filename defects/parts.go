package defects

import "time"

// View is one camera's verdict on a part that several cameras see, as the
// part's verdict lists it.
type View struct {
	Camera     string    `json:"camera"`
	Seq        uint64    `json:"seq"`
	CapturedAt time.Time `json:"captured_at"`
	Outcome    Outcome   `json:"outcome"`
	Action     Action    `json:"action"`
	Class      string    `json:"class,omitempty"`
	Confidence float64   `json:"confidence"`
	Reason     string    `json:"reason,omitempty"`
}

// viewOf is a camera verdict as a part's view.
func viewOf(v Verdict) View {
	return View{Camera: v.Camera, Seq: v.Seq, CapturedAt: v.CapturedAt, Outcome: v.Outcome, Action: v.Action,
		Class: v.Class, Confidence: v.Confidence, Reason: v.Reason}
}

// partRank orders the views' outcomes for the part: a view that FAILs
// fails the part whatever the others say; else a view that is MISSED (or
// never came) makes the part MISSED, since a side was not judged; else an
// UNCERTAIN view makes it UNCERTAIN; else it PASSes.
func partRank(o Outcome) int {
	switch o {
	case Fail:
		return 3
	case Missed:
		return 2
	case Uncertain:
		return 1
	}
	return 0
}

// FusePart makes the verdict of part partID of the part stage name from the
// views that came (in any order) and the cameras expected, decided at. A
// camera without a view is a MISSED view ("no verdict by the deadline").
// The deciding view is the worst by partRank, then the safest action, then
// the first in cameras' order; the part takes its outcome, action, class and
// confidence, and lists every view in cameras' order.
func FusePart(name, partID string, cameras []string, views []Verdict, missedAction Action, at time.Time) Verdict {
	byCam := map[string]Verdict{}
	for _, v := range views {
		if _, dup := byCam[v.Camera]; !dup {
			byCam[v.Camera] = v
		}
	}
	out := Verdict{Camera: name, PartID: partID, InferredAt: at, Source: SourceLocal}
	deciding := -1
	for _, cam := range cameras {
		v, ok := byCam[cam]
		var view View
		if ok {
			view = viewOf(v)
			if out.CapturedAt.IsZero() || v.CapturedAt.Before(out.CapturedAt) {
				out.CapturedAt = v.CapturedAt
			}
			if out.ModelDigest == "" {
				out.ModelDigest, out.ConfigHash, out.Recipe = v.ModelDigest, v.ConfigHash, v.Recipe
			}
		} else {
			view = View{Camera: cam, Outcome: Missed, Action: missedAction, Reason: "no verdict by the part's deadline"}
		}
		out.Views = append(out.Views, view)
		i := len(out.Views) - 1
		if deciding < 0 {
			deciding = i
			continue
		}
		d := out.Views[deciding]
		if r, dr := partRank(view.Outcome), partRank(d.Outcome); r > dr || r == dr && actionRank(view.Action) > actionRank(d.Action) {
			deciding = i
		}
	}
	if deciding < 0 {
		return out
	}
	d := out.Views[deciding]
	out.Outcome, out.Action, out.Class, out.Confidence = d.Outcome, d.Action, d.Class, d.Confidence
	out.Reason = d.Reason
	if d.Reason != "" {
		out.Reason = d.Camera + ": " + d.Reason
	}
	out.View = d.Camera
	if out.CapturedAt.IsZero() {
		out.CapturedAt = at
	}
	out.Latency = at.Sub(out.CapturedAt)
	return out
}
