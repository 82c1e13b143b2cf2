package defects

import (
	"time"

	"github.com/linesight/linesight/pipeline/frame"
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
	Truth     *frame.Truth  `json:"truth,omitempty"`
}

// Verdict scores a frame's image embedding and fills the record for it. The
// frame's metadata is copied, so the frame may be released afterwards; the
// embedding is kept as given.
func (s *Scorer) Verdict(f *frame.Frame, embedding []float32, inferredAt time.Time) Verdict {
	r := s.Score(embedding)
	return Verdict{
		Camera:      f.Camera,
		Seq:         f.Seq,
		PartID:      f.PartID,
		CapturedAt:  f.CapturedAt,
		InferredAt:  inferredAt,
		Outcome:     r.Outcome,
		Action:      r.Action,
		Class:       r.Class,
		Confidence:  r.Confidence,
		Scores:      r.Scores,
		Reason:      r.Reason,
		ModelDigest: s.digest,
		ConfigHash:  s.set.ConfigHash,
		Latency:     inferredAt.Sub(f.CapturedAt),
		Embedding:   embedding,
		Truth:       f.Truth,
	}
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
