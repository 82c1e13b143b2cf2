package defects

// RegionVerdict is one named region of a frame, judged with its own class
// set: a part with several features (a label, a weld, a connector) gets a
// result for each.
type RegionVerdict struct {
	Name string `json:"name"`
	// Box is the region in the camera's (oriented) frame, in pixels.
	Box        Region       `json:"box"`
	Set        string       `json:"set"`
	Outcome    Outcome      `json:"outcome"`
	Action     Action       `json:"action"`
	Class      string       `json:"class,omitempty"`
	Confidence float64      `json:"confidence"`
	Scores     []ClassScore `json:"scores,omitempty"`
	Reason     string       `json:"reason,omitempty"`
}

// severity orders outcomes for the worst region: a FAIL anywhere fails the
// part, else an UNCERTAIN region makes it UNCERTAIN.
func severity(o Outcome) int {
	switch o {
	case Fail:
		return 3
	case Missed:
		return 2 // never a region's outcome; kept above UNCERTAIN for safety
	case Uncertain:
		return 1
	}
	return 0
}

// actionRank orders actions for UNCERTAIN regions whose sets differ in
// policy: reject is the safest, then escalate, then pass.
func actionRank(a Action) int {
	switch a {
	case ActionReject:
		return 2
	case ActionEscalate:
		return 1
	}
	return 0
}

// Worst picks the region that decides the part: the most severe outcome,
// the safest action among equals, the first in the camera's order among
// those. It returns -1 for no regions.
func Worst(regions []RegionVerdict) int {
	best := -1
	for i, r := range regions {
		if best < 0 {
			best = i
			continue
		}
		b := regions[best]
		if s, bs := severity(r.Outcome), severity(b.Outcome); s > bs || s == bs && actionRank(r.Action) > actionRank(b.Action) {
			best = i
		}
	}
	return best
}

// ApplyRegions makes v the verdict of its part from its regions' verdicts:
// the worst region's outcome, action, class, confidence and scores, with
// every region listed and the deciding one named.
func (v *Verdict) ApplyRegions(regions []RegionVerdict) {
	w := Worst(regions)
	if w < 0 {
		return
	}
	r := regions[w]
	v.Outcome, v.Action, v.Class, v.Confidence, v.Scores, v.Reason = r.Outcome, r.Action, r.Class, r.Confidence, r.Scores, r.Reason
	v.Region = r.Name
	v.Regions = regions
}

// RegionVerdictOf is a region's record from its set's scoring.
func RegionVerdictOf(name string, box Region, set string, r Result) RegionVerdict {
	return RegionVerdict{Name: name, Box: box, Set: set, Outcome: r.Outcome, Action: r.Action, Class: r.Class,
		Confidence: r.Confidence, Scores: r.Scores, Reason: r.Reason}
}
