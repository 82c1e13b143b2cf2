package defects

import (
	"reflect"
	"strings"
	"testing"
)

const anomalyBase = `version: 1
sets:
  s:
    good: {prompts: ["a good part"], threshold: 0.5}
    defects:
      - {name: scratch, prompts: ["a scratched part"], threshold: 0.5}
`

func TestAnomalySettings(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want *AnomalySettings
	}{
		{"", nil},
		{"    anomaly: {golden: true}\n", &AnomalySettings{Golden: true}},
		{"    anomaly: {golden: true, zero_shot: true, layers: [12, 18], threshold: auto}\n",
			&AnomalySettings{Golden: true, ZeroShot: true, Layers: []int{12, 18}}},
		{"    anomaly: {zero_shot: true, threshold: 0.4}\n", &AnomalySettings{ZeroShot: true, Threshold: 0.4}},
	} {
		f, err := Parse("c.yaml", []byte(anomalyBase+tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if got := f.Sets["s"].Anomaly; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: settings %+v, want %+v", tc.yaml, got, tc.want)
		}
	}
}

func TestAnomalySettingsRefused(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"    anomaly: {}\n", "sets.s.anomaly: enables neither golden nor zero_shot"},
		{"    anomaly: {zero_shot: true}\n", "sets.s.anomaly.threshold: auto calibrates from golden samples"},
		{"    anomaly: {golden: true, threshold: 1.5}\n", "sets.s.anomaly.threshold"},
		{"    anomaly: {golden: true, threshold: often}\n", "want auto or an anomaly score"},
		{"    anomaly: {golden: true, layers: [0]}\n", "sets.s.anomaly.layers[0]: layer 0: layers count residual blocks from 1"},
		{"    anomaly: {golden: true, layers: [3, 3]}\n", "layer 3 is listed twice"},
		{"    anomaly: {golden: true, layers: []}\n", "empty list"},
		{"    anomaly: {zero_shot: true, layers: [2], threshold: 0.5}\n", "set golden: true or remove layers"},
		{"    anomaly: {golden: true, shots: 3}\n", "shots"},
	} {
		_, err := Parse("c.yaml", []byte(anomalyBase+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to say %q", tc.yaml, err, tc.want)
		}
	}
	clash := strings.Replace(anomalyBase, "name: scratch", "name: anomaly", 1) + "    anomaly: {golden: true}\n"
	if _, err := Parse("c.yaml", []byte(clash)); err == nil || !strings.Contains(err.Error(), `defect class named "anomaly"`) {
		t.Errorf("a defect class named anomaly: error %v", err)
	}
}

func TestAnomalySettingsChangeTheHash(t *testing.T) {
	hash := func(extra string) string {
		f, err := Parse("c.yaml", []byte(anomalyBase+extra))
		if err != nil {
			t.Fatal(err)
		}
		return f.Hash()
	}
	seen := map[string]string{}
	for _, extra := range []string{"",
		"    anomaly: {golden: true}\n",
		"    anomaly: {golden: true, threshold: 0.3}\n",
		"    anomaly: {golden: true, layers: [2]}\n",
		"    anomaly: {golden: true, zero_shot: true}\n",
	} {
		h := hash(extra)
		if prev, dup := seen[h]; dup {
			t.Errorf("%q and %q hash the same", extra, prev)
		}
		seen[h] = extra
	}
}
