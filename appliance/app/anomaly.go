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

// GoldenBanks gives a set's golden-sample memory bank for the running model
// and the threshold calibrated from it (the golden store does this).
type GoldenBanks interface {
	Bank(set *defects.ClassSet, model *clip.Model) (bank *anomaly.Bank, threshold float64, err error)
}

// PrepareDetectors builds each camera's anomaly detector from its set's
// anomaly settings: the zero-shot map compares each patch with the same
// class embeddings the image scorer uses. A set whose detection cannot run
// (a bundle without patch outputs, an auto threshold with no golden samples
// calibrated) gets no detector and a status that says why; inspection goes
// on with image-level scoring.
func PrepareDetectors(cfg *config.Config, classes *defects.File, model *clip.Model, scorers inspect.Scorers, golden GoldenBanks, log *slog.Logger) (inspect.Detectors, []AnomalyStatus) {
	dets := inspect.Detectors{}
	bySet := map[string]*inspect.AnomalyDetector{}
	var statuses []AnomalyStatus
	for _, cam := range cfg.Cameras {
		if len(cam.Regions) > 0 {
			continue // anomaly maps judge whole frames (config.Camera.RegionSet)
		}
		set, err := classes.SetFor(cam.Name(cfg.Line))
		if err != nil || set.Anomaly == nil {
			continue
		}
		d, done := bySet[set.Name]
		if !done {
			st := AnomalyStatus{Set: set.Name, ZeroShot: set.Anomaly.ZeroShot, Golden: set.Anomaly.Golden, Threshold: set.Anomaly.Threshold}
			d, st = prepareDetector(set, model, scorers[cam.ID], golden, st)
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

func prepareDetector(set *defects.ClassSet, model *clip.Model, scorer *defects.Scorer, golden GoldenBanks, st AnomalyStatus) (*inspect.AnomalyDetector, AnomalyStatus) {
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
		switch bank, threshold, err := goldenBank(golden, set, model); {
		case err != nil:
			st.Reason = "golden samples: " + err.Error()
		default:
			d.Maps.Bank = bank
			if a.Auto() {
				d.Threshold = threshold
			}
		}
	}
	if a.Auto() && d.Maps.Bank == nil {
		st.Reason = "threshold auto calibrates from golden samples, and none are ready (" + st.Reason + "); give a number to run the zero-shot map alone"
		return nil, st
	}
	if d.Maps.Classes == nil && d.Maps.Bank == nil {
		return nil, st
	}
	st.Active, st.Threshold = true, d.Threshold
	return d, st
}

func goldenBank(golden GoldenBanks, set *defects.ClassSet, model *clip.Model) (*anomaly.Bank, float64, error) {
	if golden == nil {
		return nil, 0, fmt.Errorf("no golden sample store")
	}
	bank, threshold, err := golden.Bank(set, model)
	if err != nil {
		return nil, 0, err
	}
	if err := model.CheckPatches(bank.Layers(), false); err != nil {
		return nil, 0, err
	}
	return bank, threshold, nil
}
