package app

import (
	"fmt"
	"log/slog"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/inspect"
)

// visionEncoder gives the loop the vision session's patch outputs with the
// embeddings, from the same run.
type visionEncoder struct{ *engine.Vision }

func (v visionEncoder) EmbedPatches(pixels []float32, n int) ([]float32, inspect.Patches, error) {
	p, err := v.Vision.EmbedPatches(pixels, n)
	if err != nil {
		return nil, inspect.Patches{}, err
	}
	return p.Embeds, inspect.Patches{Layers: v.PatchLayers(), Grid: v.Grid(), Tokens: p.Tokens, Dense: p.Dense}, nil
}

// AnomalyStatus says whether a set's anomaly detection runs, and why not.
type AnomalyStatus struct {
	Set       string  `json:"set"`
	Active    bool    `json:"active"`
	ZeroShot  bool    `json:"zero_shot"`
	Golden    bool    `json:"golden"`
	Threshold float64 `json:"threshold,omitempty"`
	// Reason says why the set's anomaly detection is off, or which part of
	// it is; the image-level verdicts go on either way.
	Reason string `json:"reason,omitempty"`
}

// PrepareDetectors builds each camera's anomaly detector from its set's
// anomaly settings: the zero-shot map compares each patch with the same
// class embeddings the image scorer uses. A set whose detection cannot run
// (a bundle without patch outputs, an auto threshold with no golden samples
// calibrated) gets no detector and a status that says why; inspection goes
// on with image-level scoring.
func PrepareDetectors(cfg *config.Config, classes *defects.File, model *clip.Model, scorers inspect.Scorers, log *slog.Logger) (inspect.Detectors, []AnomalyStatus) {
	dets := inspect.Detectors{}
	bySet := map[string]*inspect.AnomalyDetector{}
	var statuses []AnomalyStatus
	for _, cam := range cfg.Cameras {
		set, err := classes.SetFor(cam.Name(cfg.Line))
		if err != nil || set.Anomaly == nil {
			continue
		}
		d, done := bySet[set.Name]
		if !done {
			st := AnomalyStatus{Set: set.Name, ZeroShot: set.Anomaly.ZeroShot, Golden: set.Anomaly.Golden, Threshold: set.Anomaly.Threshold}
			d, st = prepareDetector(set, model, scorers[cam.ID], st)
			bySet[set.Name] = d
			statuses = append(statuses, st)
			if d == nil {
				log.Error("anomaly detection is off for this set; verdicts keep image-level scoring", "set", set.Name, "reason", st.Reason)
			} else {
				log.Info("anomaly detection on", "set", set.Name, "zero_shot", d.Maps.Classes != nil, "golden", d.Maps.Bank != nil, "threshold", d.Threshold)
			}
		}
		if d != nil {
			dets[cam.ID] = d
		}
	}
	return dets, statuses
}

func prepareDetector(set *defects.ClassSet, model *clip.Model, scorer *defects.Scorer, st AnomalyStatus) (*inspect.AnomalyDetector, AnomalyStatus) {
	a := set.Anomaly
	if err := model.CheckPatches(nil, a.ZeroShot); err != nil || model.Vision.Grid() == 0 {
		if err == nil {
			err = fmt.Errorf("the vision model has no patch outputs")
		}
		st.Reason = err.Error()
		return nil, st
	}
	d := &inspect.AnomalyDetector{Maps: anomaly.Detector{Scale: model.LogitScale}, Threshold: a.Threshold}
	if a.ZeroShot && scorer != nil {
		d.Maps.Classes = scorer.ClassEmbeddings()
	}
	if a.Golden {
		st.Reason = "golden samples are not loaded in this build's inspection loop; the few-shot map is off"
	}
	if a.Auto() {
		st.Reason = "threshold auto calibrates from golden samples, and none are calibrated: give a number to run the zero-shot map alone"
		return nil, st
	}
	if d.Maps.Classes == nil {
		if st.Reason == "" {
			st.Reason = "no map to make"
		}
		return nil, st
	}
	st.Active = true
	return d, st
}
