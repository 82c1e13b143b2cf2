package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/defects"
)

// twoSets judge the two regions with classes of their own.
const twoSets = `version: 1
sets:
  labels:
    good: {prompts: ["a clean label"], threshold: 0.5}
    defects:
      - {name: smudge, prompts: ["a smudged label"], threshold: 0.5}
  welds:
    uncertain: escalate
    good: {prompts: ["a good weld"], threshold: 0.5}
    defects:
      - {name: porosity, prompts: ["a porous weld"], threshold: 0.5}
cameras:
  default: labels
`

// A camera with two regions on the real engine: every verdict lists both,
// each judged by its own set (its own classes), and the part takes the
// worst region's outcome. The weights are random, so which outcome each
// region gets means nothing; that the rules hold is what is checked.
func TestTwoRegionsOfOneCamera(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(twoSets), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`line: test
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: top
    source: {kind: synthetic, width: 96, height: 64, fps: 100, seed: 3}
    regions:
      - {name: label, roi: {x: 0, y: 0, width: 48, height: 64}}
      - {name: weld, roi: {x: 48, y: 16, width: 48, height: 48}, set: welds}
pipeline: {batch_size: 4, batch_wait: 5ms}
`, modelDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, sink, cancel, done := startApp(t, cfgPath)
	defer stopApp(t, cancel, done)
	vs := waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) >= 6 })
	for _, v := range vs[:6] {
		if len(v.Regions) != 2 {
			t.Fatalf("verdict with %d regions, want 2: %+v", len(v.Regions), v)
		}
		l, w := v.Regions[0], v.Regions[1]
		if l.Name != "label" || l.Set != "labels" || len(l.Scores) != 2 || l.Scores[1].Class != "smudge" || l.Box != (defects.Region{W: 48, H: 64}) {
			t.Errorf("label region %+v, want the labels' classes over the left half", l)
		}
		if w.Name != "weld" || w.Set != "welds" || len(w.Scores) != 2 || w.Scores[1].Class != "porosity" || w.Box != (defects.Region{X: 48, Y: 16, W: 48, H: 48}) {
			t.Errorf("weld region %+v, want the welds' classes", w)
		}
		worst := v.Regions[defects.Worst(v.Regions)]
		if v.Outcome != worst.Outcome || v.Action != worst.Action || v.Class != worst.Class || v.Region != worst.Name {
			t.Errorf("part verdict %s/%s %s by %q, want the worst region's (%s)", v.Outcome, v.Action, v.Class, v.Region, worst.Name)
		}
	}
}

// Bad regions are refused before anything runs, saying what and where.
func TestRegionConfigErrors(t *testing.T) {
	dir := t.TempDir()
	anomalySets := strings.Replace(twoSets, "  welds:\n", "  welds:\n    anomaly: {zero_shot: true, threshold: 0.5}\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(anomalySets), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`line: test
data_dir: data
defects: classes.yaml
model: {bundle: %s}
cameras:
  - id: top
    source: {kind: synthetic}
    regions:
      - {name: label, roi: {x: 0, y: 0, width: 48, height: 64}, set: lables}
      - {name: label, roi: {x: -1, y: 0, width: 0, height: 64}}
      - {name: weld, roi: {x: 48, y: 16, width: 48, height: 48}, set: welds}
      - {name: "a b"}
`, modelDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.LoadAppliance(cfgPath)
	if err == nil {
		t.Fatal("bad regions accepted")
	}
	for _, want := range []string{
		`cameras[0].regions[0].set: region "label": ` + filepath.Join(dir, "classes.yaml") + ` has no class set "lables"`,
		`cameras[0].regions[1].name: duplicate region name "label"`,
		`cameras[0].regions[1].roi: x -1, y 0`,
		`cameras[0].regions[2].set: region "weld": set "welds" enables anomaly maps`,
		`cameras[0].regions[3].name: "a b" is not a valid region name`,
		`cameras[0].regions[3].roi: missing`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
