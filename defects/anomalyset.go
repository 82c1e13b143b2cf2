package defects

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/linesight/linesight/internal/yamlconf"
)

// AnomalyClass is the class of a FAIL that only the anomaly map decided.
// A set that enables anomaly detection cannot have a defect class of this
// name.
const AnomalyClass = "anomaly"

// MinGolden and MaxGolden bound a set's golden samples.
const (
	MinGolden = 1
	MaxGolden = 64
)

// AnomalySettings are a set's anomaly detection (docs/anomaly.md): the
// few-shot map against its golden samples, the zero-shot dense map against
// its class prompts, or both.
type AnomalySettings struct {
	Golden   bool // compare with the set's golden samples (few-shot map)
	ZeroShot bool // compare each patch with the class prompts (zero-shot map)
	// Layers are the memory layers of the few-shot map; nil takes the
	// model's defaults (floor(L/2) and floor(3L/4)).
	Layers []int
	// Threshold is the anomaly score at which a frame FAILs; 0 means auto:
	// calibrated from the golden samples themselves.
	Threshold float64
}

// Auto reports whether the threshold is calibrated from the golden samples.
func (a *AnomalySettings) Auto() bool { return a.Threshold == 0 }

type rawAnomaly struct {
	Golden    *bool             `yaml:"golden"`
	ZeroShot  *bool             `yaml:"zero_shot"`
	Layers    []int             `yaml:"layers"`
	Threshold *anomalyThreshold `yaml:"threshold"`
}

// anomalyThreshold is `auto` or a score in (0, 1].
type anomalyThreshold struct {
	auto  bool
	value float64
}

func (t *anomalyThreshold) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "auto" {
		t.auto = true
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0 && v <= 1) {
		return fmt.Errorf("want auto or an anomaly score above 0 and at most 1")
	}
	t.value = v
	return nil
}

func buildAnomaly(doc *yamlconf.Doc, path string, ra *rawAnomaly, s *ClassSet) *AnomalySettings {
	if ra == nil {
		return nil
	}
	a := &AnomalySettings{Golden: ra.Golden != nil && *ra.Golden, ZeroShot: ra.ZeroShot != nil && *ra.ZeroShot, Layers: ra.Layers}
	if !a.Golden && !a.ZeroShot {
		doc.Errorf(path, "enables neither golden nor zero_shot; set golden: true, zero_shot: true or both, or remove anomaly")
	}
	if ra.Layers != nil && !a.Golden {
		doc.Errorf(yamlconf.Key(path, "layers"), "layers are the golden samples' memory layers; set golden: true or remove layers")
	}
	if ra.Layers != nil && len(ra.Layers) == 0 {
		doc.Errorf(yamlconf.Key(path, "layers"), "empty list: give at least one layer, or remove layers for the model's defaults")
	}
	for i, l := range ra.Layers {
		if l < 1 {
			doc.Errorf(yamlconf.Index(yamlconf.Key(path, "layers"), i), "layer %d: layers count residual blocks from 1", l)
		}
		if slices.Index(ra.Layers, l) < i {
			doc.Errorf(yamlconf.Index(yamlconf.Key(path, "layers"), i), "layer %d is listed twice", l)
		}
	}
	switch {
	case ra.Threshold == nil || ra.Threshold.auto:
		if !a.Golden {
			doc.Errorf(yamlconf.Key(path, "threshold"), "auto calibrates from golden samples, and golden is off: give a number (an anomaly score above 0 and at most 1)")
		}
	default:
		a.Threshold = ra.Threshold.value
	}
	for i, c := range s.Classes {
		if i > 0 && c.Name == AnomalyClass {
			doc.Errorf(path, "the set has a defect class named %q, the class an anomaly FAIL takes; rename that class", AnomalyClass)
		}
	}
	return a
}
