package defects

import (
	"encoding/json"
	"fmt"
)

// AnomalyMap is the anomaly_map of journal records and the dashboard: the
// quantised g x g map, the window of the shown image it covers and the
// region's box in that image (docs/anomaly.md).
type AnomalyMap struct {
	Grid   int       `json:"grid"`
	Values MapValues `json:"values"`
	Window Region    `json:"window"`
	Box    *Region   `json:"box,omitempty"`
}

// MapValues are a map's 8-bit values; JSON writes them as numbers, not as
// the base64 string a []byte would be.
type MapValues []uint8

func (v MapValues) MarshalJSON() ([]byte, error) {
	ints := make([]int, len(v))
	for i, x := range v {
		ints[i] = int(x)
	}
	return json.Marshal(ints)
}

func (v *MapValues) UnmarshalJSON(b []byte) error {
	var ints []int
	if err := json.Unmarshal(b, &ints); err != nil {
		return err
	}
	out := make(MapValues, len(ints))
	for i, x := range ints {
		if x < 0 || x > 255 {
			return fmt.Errorf("anomaly map value %d at %d is outside 0..255", x, i)
		}
		out[i] = uint8(x)
	}
	*v = out
	return nil
}

// MapView is the anomaly_map of a verdict's anomaly fields; nil when the
// verdict has no map.
func (a *Anomaly) MapView() *AnomalyMap {
	if a == nil || a.Grid == 0 || len(a.Map) != a.Grid*a.Grid || a.Window == nil {
		return nil
	}
	m := &AnomalyMap{Grid: a.Grid, Values: MapValues(a.Map), Window: *a.Window}
	if a.Box != nil {
		b := *a.Box
		m.Box = &b
	}
	return m
}

// ApplyAnomaly adds a frame's anomaly fields to its verdict and applies the
// anomaly rule: a score at or above the threshold FAILs the part with class
// anomaly and the score as confidence, unless a defect class already FAILs
// it; then that class stands and the anomaly fields are still given.
func (v *Verdict) ApplyAnomaly(a *Anomaly) {
	v.Anomaly = a
	if a.overrides(v.Outcome) {
		v.Outcome, v.Action, v.Class, v.Confidence = Fail, ActionReject, AnomalyClass, a.Score
	}
}

// ApplyAnomaly applies the anomaly rule of Verdict.ApplyAnomaly to a
// class-level result (re-scoring a journaled verdict).
func (r *Result) ApplyAnomaly(a *Anomaly) {
	if a.overrides(r.Outcome) {
		r.Outcome, r.Action, r.Class, r.Confidence = Fail, ActionReject, AnomalyClass, a.Score
	}
}

// overrides reports whether a FAILs a part whose class-level outcome is
// outcome: its score reaches the threshold and no defect class FAILs it.
func (a *Anomaly) overrides(outcome Outcome) bool {
	return a != nil && a.Score >= a.Threshold && outcome != Fail
}

// Rejudged is a stored anomaly judged by set's settings, for re-scoring:
// the same score against the set's threshold when the file gives a number,
// else against the threshold it was judged with (auto calibrates from the
// golden samples, which re-scoring does not rebuild). nil when the set no
// longer detects anomalies or a is nil.
func (a *Anomaly) Rejudged(set *ClassSet) *Anomaly {
	if a == nil || set == nil || set.Anomaly == nil {
		return nil
	}
	r := *a
	if !set.Anomaly.Auto() {
		r.Threshold = set.Anomaly.Threshold
	}
	return &r
}
