package defects

import (
	"time"
)

// Outcome is what inspection concluded about a part.
type Outcome string

// The outcomes of an inspection.
const (
	Pass      Outcome = "PASS"      // the good class reached its threshold
	Fail      Outcome = "FAIL"      // a defect class reached its threshold
	Uncertain Outcome = "UNCERTAIN" // no class was confident enough
	Missed    Outcome = "MISSED"    // a trigger could not be served (no frame, overload, error)
)

// ClassScore is one class's probability. Verdicts carry a slice of them in
// the set's class order, so JSON output is stable.
type ClassScore struct {
	Class string  `json:"class"`
	Score float64 `json:"score"`
}

// SourceLocal is the Source of a verdict this appliance's model decided.
const SourceLocal = "local"

// Verdict is the record of one inspection that every sink receives: the
// journal, MQTT and the dashboard.
type Verdict struct {
	Camera     string    `json:"camera"`
	Seq        uint64    `json:"seq"`
	PartID     string    `json:"part_id,omitempty"`
	CapturedAt time.Time `json:"captured_at"`
	InferredAt time.Time `json:"inferred_at"`
	Outcome    Outcome   `json:"outcome"`
	// Action is what the line should do: pass for PASS, reject for FAIL, the
	// set's uncertain policy for UNCERTAIN, and the producer's choice for
	// MISSED (reject is the safe one).
	Action Action `json:"action"`
	// Class is the deciding class: the defect for FAIL, the good class for
	// PASS, the most probable class for UNCERTAIN; empty for MISSED.
	Class      string       `json:"class,omitempty"`
	Confidence float64      `json:"confidence"` // the probability of Class
	Scores     []ClassScore `json:"scores,omitempty"`
	// Reason says why a verdict is MISSED, or UNCERTAIN without scores.
	Reason      string `json:"reason,omitempty"`
	ModelDigest string `json:"model_digest,omitempty"`
	ConfigHash  string `json:"config_hash,omitempty"`
	// Source says which model decided: "local" (empty in records written
	// before escalation existed), or "remote:<host>" when an escalation
	// server answered.
	Source string `json:"source,omitempty"`
	// Latency is from capture to verdict.
	Latency   time.Duration `json:"latency_ns"`
	Embedding []float32     `json:"-"`
	Truth     *Truth        `json:"truth,omitempty"`
	// Anomaly is what the set's anomaly map found; nil when the set has no
	// anomaly detection or the frame was not inspected.
	Anomaly *Anomaly `json:"anomaly,omitempty"`
	// TriggeredAt is a triggered part's time: the PLC's own (the trigger's
	// "at") when it gave one, else when the trigger arrived; zero in
	// free-run. CapturedAt minus it is FrameOffset.
	TriggeredAt time.Time     `json:"triggered_at,omitzero"`
	FrameOffset time.Duration `json:"frame_offset_ns,omitempty"`
	// SharedFrame says another trigger was judged on the same frame: two
	// part ids, one picture.
	SharedFrame bool `json:"shared_frame,omitempty"`
	// Recipe is the recipe the part was judged for; empty when the
	// defect-class file has no recipes.
	Recipe string `json:"recipe,omitempty"`
	// Regions are the results of a camera's named regions, each judged
	// with its own set, and Region the one that decided the verdict (the
	// worst); absent for a camera without regions.
	Regions []RegionVerdict `json:"regions,omitempty"`
	Region  string          `json:"region,omitempty"`
	// Views are, for the verdict of a part several cameras see (a part
	// stage: Camera is the stage's name), each camera's view, and View the
	// camera that decided it; absent for a camera's own verdict.
	Views []View `json:"views,omitempty"`
	View  string `json:"view,omitempty"`
}

// Anomaly is a frame's anomaly score against its set's threshold and where
// the anomaly is (docs/anomaly.md).
type Anomaly struct {
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	// Region is the bounding box, in the source frame's pixels, of the
	// largest connected area of the upsampled map above the threshold; nil
	// when no patch reaches it.
	Region *Region `json:"region,omitempty"`
	// Grid is g of the g x g patch map, and Map its values quantised to 8
	// bits (0 is 0, 255 is 1), row-major. The journal and the dashboard keep
	// them; the MQTT payload leaves them out.
	Grid int     `json:"-"`
	Map  []uint8 `json:"-"`
	// Window is the part of the inspected (oriented) frame that the model
	// saw, which the map covers, and Box the region in that frame's pixels
	// (nil without a region), for drawing over the stored and shown image;
	// in the journal and dashboard's anomaly_map, never on MQTT.
	Window *Region `json:"-"`
	Box    *Region `json:"-"`
}

// Region is a box in a frame's pixel coordinates: x, y its top-left corner.
type Region struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Truth says what a generated frame shows (the synthetic line knows it).
type Truth struct {
	PartType string `json:"part_type"`
	// Defect is "" for a good part, else one of the injected defect kinds.
	Defect string `json:"defect,omitempty"`
}

// Good reports whether the frame shows a part without defect.
func (t *Truth) Good() bool { return t.Defect == "" }

// Capture is what a verdict records of the frame it judges and the part it
// judges it for.
type Capture struct {
	Camera     string
	Seq        uint64
	PartID     string
	CapturedAt time.Time
	Truth      *Truth
	// TriggeredAt and SharedFrame are the trigger's, for a triggered part.
	TriggeredAt time.Time
	SharedFrame bool
}

// NewVerdict makes the record of a judged frame from its capture, the
// scorer's result for its embedding and when that was inferred: the one
// place a verdict of an inspected frame is built. The embedding is kept as
// given.
func (s *Scorer) NewVerdict(c Capture, r Result, embedding []float32, inferredAt time.Time) Verdict {
	return Verdict{
		Camera:      c.Camera,
		Seq:         c.Seq,
		PartID:      c.PartID,
		CapturedAt:  c.CapturedAt,
		InferredAt:  inferredAt,
		Outcome:     r.Outcome,
		Action:      r.Action,
		Class:       r.Class,
		Confidence:  r.Confidence,
		Scores:      r.Scores,
		Reason:      r.Reason,
		ModelDigest: s.digest,
		ConfigHash:  s.set.ConfigHash,
		Latency:     inferredAt.Sub(c.CapturedAt),
		Embedding:   embedding,
		Truth:       c.Truth,
		TriggeredAt: c.TriggeredAt,
		FrameOffset: frameOffset(c),
		SharedFrame: c.SharedFrame,
		Recipe:      s.set.Recipe,
	}
}

// frameOffset is how long after its trigger time a part's frame was
// captured (negative: before it); 0 without a trigger.
func frameOffset(c Capture) time.Duration {
	if c.TriggeredAt.IsZero() {
		return 0
	}
	return c.CapturedAt.Sub(c.TriggeredAt)
}

// MissedVerdict records a trigger that produced no inspection, with the
// action the line should take for it.
func MissedVerdict(camera string, seq uint64, partID string, triggeredAt, at time.Time, action Action, reason string) Verdict {
	return Verdict{
		Camera:     camera,
		Seq:        seq,
		PartID:     partID,
		CapturedAt: triggeredAt,
		InferredAt: at,
		Outcome:    Missed,
		Action:     action,
		Reason:     reason,
		Latency:    at.Sub(triggeredAt),
	}
}
