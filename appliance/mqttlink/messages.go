package mqttlink

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/linesight/linesight/appliance/trigger"
	"github.com/linesight/linesight/defects"
)

// VerdictMessage is the payload on <line>/<camera>/verdict.
type VerdictMessage struct {
	V           int                  `json:"v"`
	ID          uint64               `json:"id"`
	Line        string               `json:"line"`
	Camera      string               `json:"camera"`
	Seq         uint64               `json:"seq"`
	PartID      string               `json:"part_id"`
	CapturedAt  time.Time            `json:"captured_at"`
	InferredAt  time.Time            `json:"inferred_at"`
	QueuedAt    time.Time            `json:"queued_at"`
	PublishedAt time.Time            `json:"published_at"`
	Outcome     defects.Outcome      `json:"outcome"`
	Action      defects.Action       `json:"action"`
	Class       string               `json:"class"`
	Confidence  float64              `json:"confidence"`
	Scores      []defects.ClassScore `json:"scores"`
	Reason      string               `json:"reason,omitempty"`
	LatencyMS   float64              `json:"latency_ms"`
	ModelDigest string               `json:"model_digest"`
	// DefectsHash is the hash of the defect-class file that decided, as
	// the status message's defects_hash names it.
	DefectsHash string `json:"defects_hash"`
	// ConfigHash holds the same defect-file hash under its first,
	// misleading name: deprecated, kept for the PLCs that read it. It is
	// not the appliance configuration's hash (the status's config_hash).
	ConfigHash string `json:"config_hash"`
	ImageRef   string `json:"image_ref"`
	// Late is set when the verdict waited in the outbox: published more
	// than the late threshold after inference, or held across a reconnect
	// or restart. The PLC must not use a late verdict to gate its part.
	Late bool `json:"late"`
	// Journaled is false when the journal could not commit the verdict
	// (its disk is full): it was published from memory and has no record
	// behind image_ref.
	Journaled bool `json:"journaled"`
	// Anomaly is the anomaly score, threshold and region of a camera whose
	// set detects anomalies; absent otherwise (an additive field: PLCs that
	// do not know it ignore it). The map itself is never published.
	Anomaly *AnomalyMessage `json:"anomaly,omitempty"`
	// TriggeredAt is a triggered part's time: the PLC's own "at" when the
	// trigger gave it, else the trigger's arrival; FrameOffsetMS is the
	// judged frame's capture time minus it. Absent in free-run.
	TriggeredAt   *time.Time `json:"triggered_at,omitempty"`
	FrameOffsetMS *float64   `json:"frame_offset_ms,omitempty"`
	// SharedFrame: another trigger's part was judged on the same frame.
	SharedFrame bool `json:"shared_frame,omitempty"`
	// Recipe is the recipe the part was judged for; absent without recipes.
	Recipe string `json:"recipe,omitempty"`
	// Regions are a camera's regions' results and Region the deciding
	// one; absent for a camera without regions.
	Regions []defects.RegionVerdict `json:"regions,omitempty"`
	Region  string                  `json:"region,omitempty"`
	// Views are, on a part stage's verdict, each camera's view and View the
	// deciding camera; absent on a camera's own verdict.
	Views []defects.View `json:"views,omitempty"`
	View  string         `json:"view,omitempty"`
}

// AnomalyMessage is a verdict's anomaly fields (docs/anomaly.md).
type AnomalyMessage struct {
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	// Region is the bounding box of the anomaly in the source camera
	// image's pixels; absent when no patch reaches the threshold.
	Region *RegionMessage `json:"region,omitempty"`
}

// RegionMessage is a box in pixels: x, y its top-left corner.
type RegionMessage struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

func newAnomalyMessage(a *defects.Anomaly) *AnomalyMessage {
	if a == nil {
		return nil
	}
	m := &AnomalyMessage{Score: a.Score, Threshold: a.Threshold}
	if r := a.Region; r != nil {
		m.Region = &RegionMessage{X: r.X, Y: r.Y, W: r.W, H: r.H}
	}
	return m
}

// ImageRef is how a verdict names its journal record, for the dashboard and
// the API.
func ImageRef(id uint64) string { return fmt.Sprintf("journal:%d", id) }

func newVerdictMessage(line string, e Entry, publishedAt time.Time, late bool) VerdictMessage {
	v := e.Verdict
	scores := v.Scores
	if scores == nil {
		scores = []defects.ClassScore{}
	}
	msg := VerdictMessage{
		V: ContractVersion, ID: e.ID, Line: line, Camera: v.Camera, Seq: v.Seq, PartID: v.PartID,
		CapturedAt: v.CapturedAt.UTC(), InferredAt: v.InferredAt.UTC(), QueuedAt: e.QueuedAt.UTC(),
		PublishedAt: publishedAt.UTC(), Outcome: v.Outcome, Action: v.Action, Class: v.Class,
		Confidence: v.Confidence, Scores: scores, Reason: v.Reason, LatencyMS: ms(v.Latency),
		ModelDigest: v.ModelDigest, DefectsHash: v.ConfigHash, ConfigHash: v.ConfigHash, ImageRef: ImageRef(e.ID), Late: late,
		Journaled: !e.NotJournaled, Anomaly: newAnomalyMessage(v.Anomaly), SharedFrame: v.SharedFrame,
		Recipe: v.Recipe, Regions: v.Regions, Region: v.Region, Views: v.Views, View: v.View,
	}
	if !v.TriggeredAt.IsZero() {
		at, off := v.TriggeredAt.UTC(), ms(v.FrameOffset)
		msg.TriggeredAt, msg.FrameOffsetMS = &at, &off
	}
	return msg
}

// StatusMessage is the retained payload on <line>/status.
type StatusMessage struct {
	V     int       `json:"v"`
	State string    `json:"state"` // online or offline
	Line  string    `json:"line"`
	At    time.Time `json:"at"`
	// The rest is only in online messages, but for Warmup and Error, which
	// the offline status of a failed start keeps.
	Version     string       `json:"version,omitempty"`
	Model       *ModelInfo   `json:"model,omitempty"`
	ConfigHash  string       `json:"config_hash,omitempty"`
	DefectsHash string       `json:"defects_hash,omitempty"`
	Warmup      string       `json:"warmup,omitempty"` // starting, ready or failed
	Error       string       `json:"error,omitempty"`
	StartedAt   *time.Time   `json:"started_at,omitempty"`
	Cameras     []CameraInfo `json:"cameras,omitempty"`
	// Degraded says what keeps the online appliance from working as it
	// should (a journal that cannot commit); absent when nothing does.
	Degraded []string `json:"degraded,omitempty"`
	// Recipe is the active recipe and Recipes those it may be changed to
	// (linesight/<line>/recipe/set); absent without recipes.
	Recipe  string   `json:"recipe,omitempty"`
	Recipes []string `json:"recipes,omitempty"`
}

// ModelInfo names the model that produces the verdicts.
type ModelInfo struct {
	Digest   string `json:"digest"`
	Variant  string `json:"variant"`
	Provider string `json:"provider"`
}

// CameraInfo is a camera as the status message lists it.
type CameraInfo struct {
	ID   string `json:"id"`
	Mode string `json:"mode"` // triggered or freerun; only triggered cameras take triggers
}

// Warm-up states in the status message.
const (
	WarmupStarting = "starting"
	WarmupReady    = "ready"
	WarmupFailed   = "failed"
)

func offlineMessage(line string, at time.Time) []byte {
	return mustJSON(StatusMessage{V: ContractVersion, State: "offline", Line: line, At: at.UTC()})
}

// stoppedMessage is the offline status of a clean stop. After a failed
// start it keeps the failure (warmup "failed" and the error), retained, so
// a PLC sees why the appliance went offline, not only that it did.
func stoppedMessage(line string, at time.Time, snap Snapshot) []byte {
	m := StatusMessage{V: ContractVersion, State: "offline", Line: line, At: at.UTC()}
	if snap.Warmup == WarmupFailed {
		m.Warmup, m.Error = WarmupFailed, snap.Error
	}
	return mustJSON(m)
}

// StatsMessage is the payload on <line>/stats.
type StatsMessage struct {
	V         int       `json:"v"`
	Line      string    `json:"line"`
	At        time.Time `json:"at"`
	StartedAt time.Time `json:"started_at"`
	IntervalS float64   `json:"interval_s"`
	State     string    `json:"state"`
	// OutboxPending is how many verdicts wait for the broker.
	OutboxPending int `json:"outbox_pending"`
	// OutboxDropped counts verdicts the full outbox dropped or refused.
	OutboxDropped uint64 `json:"outbox_dropped"`
	// OutboxExpired counts verdicts dropped for waiting longer than
	// mqtt.outbox_max_age.
	OutboxExpired uint64        `json:"outbox_expired"`
	Cameras       []CameraStats `json:"cameras"`
}

// CameraStats are one camera's counters. Triggers, Inspected,
// MissedTriggers and Dropped count since the appliance started; the
// verdict counters since the link started; Processing covers the verdicts
// published in the last interval.
type CameraStats struct {
	Camera         string     `json:"camera"`
	Triggers       uint64     `json:"triggers"`
	Inspected      uint64     `json:"inspected"`
	MissedTriggers uint64     `json:"missed_triggers"`
	SharedFrames   uint64     `json:"shared_frames"`
	Dropped        uint64     `json:"dropped"`
	OK             uint64     `json:"ok"`
	NG             uint64     `json:"ng"`
	Uncertain      uint64     `json:"uncertain"`
	Missed         uint64     `json:"missed"`
	Processing     Processing `json:"processing"`
}

// Processing is capture-to-verdict time over an interval, in milliseconds;
// all zero when Count is.
type Processing struct {
	Count int     `json:"count"`
	MinMS float64 `json:"min_ms"`
	AvgMS float64 `json:"avg_ms"`
	MaxMS float64 `json:"max_ms"`
}

// ErrorMessage is the payload on <line>/<camera>/error.
type ErrorMessage struct {
	V      int       `json:"v"`
	Line   string    `json:"line"`
	Camera string    `json:"camera"`
	At     time.Time `json:"at"`
	Code   string    `json:"code"`
	Reason string    `json:"reason"`
	// PartID is the trigger's part when it could be read.
	PartID string `json:"part_id,omitempty"`
	// Size is the payload size in bytes.
	Size int `json:"size"`
}

// Error codes.
const (
	CodeTooLarge      = trigger.CodeTooLarge  // payload over trigger.MaxSize
	CodeMalformed     = trigger.CodeMalformed // not a JSON object of the documented shape
	CodeInvalid       = trigger.CodeInvalid   // well-formed but a value is not acceptable
	CodeUnknownCamera = "unknown_camera"      // the topic names no configured camera
	CodeRefused       = "refused"             // the appliance could not take the trigger
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic("mqttlink: encoding a message cannot fail: " + err.Error())
	}
	return data
}

// AlarmsMessage is the retained payload on <line>/alarms: every process
// alarm that holds, [] when none (docs/alarms.md).
type AlarmsMessage struct {
	V      int            `json:"v"`
	Line   string         `json:"line"`
	At     time.Time      `json:"at"`
	Active []AlarmMessage `json:"active"`
}

// AlarmMessage is one process alarm.
type AlarmMessage struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Camera   string `json:"camera"`
	Message  string `json:"message"`
}
