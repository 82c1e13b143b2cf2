package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/eval"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

// offlineDefects has three classes; the thresholds are what the test checks
// each verdict against. The random model gives the good class almost no
// probability, so its low threshold is what lets some parts PASS: the mix of
// outcomes exercises every path, and means nothing about the parts.
const offlineDefects = `version: 1
sets:
  parts:
    uncertain: escalate
    good:
      prompts: ["a photo of a flawless part", "a photo of a perfect part"]
      threshold: 0.003
    defects:
      - name: scratch
        prompts: ["a photo of a scratched part"]
        threshold: 0.6
      - name: dent
        prompts: ["a photo of a dented part"]
        threshold: 0.6
cameras:
  default: parts
`

var offlineThresholds = map[string]float64{"good": 0.003, "scratch": 0.6, "dent": 0.6}

// offlineConfig writes an appliance config for a tiny random model and
// returns its path and the model's digest.
func offlineConfig(t *testing.T) (string, string) {
	t.Helper()
	model := synth(t, 11, "fp32")
	dir := t.TempDir()
	cfg := `line: line1
data_dir: data
defects: defects.yaml
model:
  bundle: ` + model + `
  threads: 1
pipeline:
  batch_size: 3
cameras:
  - id: cam0
    source: {kind: synthetic}
  - id: cam1
    source: {kind: synthetic}
`
	for name, data := range map[string]string{"linesight.yaml": cfg, "defects.yaml": offlineDefects} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "linesight.yaml"), digest(t, model, "fp32")
}

// verdictLine is the part of an inspect line the tests read.
type verdictLine struct {
	Image      string  `json:"image"`
	Camera     string  `json:"camera"`
	Seq        int     `json:"seq"`
	Outcome    string  `json:"outcome"`
	Action     string  `json:"action"`
	Class      string  `json:"class"`
	Confidence float64 `json:"confidence"`
	Scores     []struct {
		Class string  `json:"class"`
		Score float64 `json:"score"`
	} `json:"scores"`
	DefectScore float64 `json:"defect_score"`
	ModelDigest string  `json:"model_digest"`
	ConfigHash  string  `json:"config_hash"`
	Error       string  `json:"error"`
}

func parseLines(t *testing.T, out string) []verdictLine {
	t.Helper()
	var lines []verdictLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var v verdictLine
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, v)
	}
	return lines
}

// checkVerdict checks a line against the verdict rule, recomputed here from
// its scores and the file's thresholds.
func checkVerdict(t *testing.T, v verdictLine, model string) {
	t.Helper()
	if v.Error != "" {
		t.Fatalf("%s: error %s", v.Image, v.Error)
	}
	if len(v.Scores) != 3 || v.Scores[0].Class != "good" || v.Scores[1].Class != "scratch" || v.Scores[2].Class != "dent" {
		t.Fatalf("%s: scores %+v, want good, scratch, dent", v.Image, v.Scores)
	}
	sum, defect := 0.0, 0.0
	fail := -1
	for i, s := range v.Scores {
		sum += s.Score
		if i > 0 {
			defect += s.Score
			if s.Score >= offlineThresholds[s.Class] && (fail < 0 || s.Score > v.Scores[fail].Score) {
				fail = i
			}
		}
	}
	if math.Abs(sum-1) > 1e-9 || defect != v.DefectScore {
		t.Errorf("%s: scores sum to %v, defect score %v (want %v)", v.Image, sum, v.DefectScore, defect)
	}
	want, action := "UNCERTAIN", "escalate" // the set's uncertain policy
	switch {
	case fail > 0:
		want, action = "FAIL", "reject"
	case v.Scores[0].Score >= offlineThresholds["good"]:
		want, action = "PASS", "pass"
	}
	if v.Outcome != want || v.Action != action {
		t.Errorf("%s: %s/%s with scores %+v, want %s/%s", v.Image, v.Outcome, v.Action, v.Scores, want, action)
	}
	if v.ModelDigest != model || v.ConfigHash == "" {
		t.Errorf("%s: model %q config %q", v.Image, v.ModelDigest, v.ConfigHash)
	}
}

// withoutTimes drops the fields that differ between two runs.
func withoutTimes(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "captured_at")
		delete(m, "inferred_at")
		delete(m, "latency_ns")
		rows = append(rows, m)
	}
	return rows
}

func TestInspect(t *testing.T) {
	testenv.RequireORT(t)
	cfg, model := offlineConfig(t)
	ds := t.TempDir()
	if err := synthetic.WriteDataset(ds, 1, 5); err != nil {
		t.Fatal(err)
	}
	test := filepath.Join(ds, synthetic.Washer, "test")
	var want []string
	for _, label := range append([]string{"good"}, synthetic.DefectKinds...) {
		want = append(want, filepath.Join(test, label, "000.png"))
	}
	sort.Strings(want) // directories come out in name order, recursively

	r := mustRun(t, "", "inspect", "--config", cfg, test)
	lines := parseLines(t, r.stdout)
	if len(lines) != len(want) {
		t.Fatalf("%d lines for %d images:\n%s", len(lines), len(want), r.stdout)
	}
	outcomes := map[string]int{}
	for i, v := range lines {
		if v.Image != want[i] || v.Seq != i+1 || v.Camera != "cam0" {
			t.Errorf("line %d: image %s seq %d camera %s, want %s, %d, cam0", i, v.Image, v.Seq, v.Camera, want[i], i+1)
		}
		checkVerdict(t, v, model)
		outcomes[v.Outcome]++
	}
	t.Logf("outcomes %v", outcomes)
	if len(outcomes) < 2 {
		t.Errorf("outcomes %v: the fixture should give a mix", outcomes)
	}

	// --out writes the same lines, and nothing to stdout.
	out := filepath.Join(t.TempDir(), "results.jsonl")
	r2 := mustRun(t, "", "inspect", "--config", cfg, "--out", out, test)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if r2.stdout != "" {
		t.Errorf("stdout with --out: %q", r2.stdout)
	}
	a, b := withoutTimes(t, r.stdout), withoutTimes(t, string(data))
	if len(a) != len(b) {
		t.Fatalf("--out has %d lines, stdout %d", len(b), len(a))
	}
	for i := range a {
		if ja, jb := mustJSON(t, a[i]), mustJSON(t, b[i]); ja != jb {
			t.Errorf("line %d differs:\nstdout %s\n--out  %s", i, ja, jb)
		}
	}
	if left, err := filepath.Glob(filepath.Join(filepath.Dir(out), ".*")); err != nil {
		t.Fatal(err)
	} else if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Another camera's classes: the verdicts say which camera.
	r = mustRun(t, "", "inspect", "--config", cfg, "--camera", "cam1", want[0])
	if v := parseLines(t, r.stdout); len(v) != 1 || v[0].Camera != "cam1" || v[0].Image != want[0] {
		t.Errorf("--camera cam1: %s", r.stdout)
	}
	r = run(t, "", "inspect", "--config", cfg, "--camera", "cam9", want[0])
	if r.code != 1 || !strings.Contains(r.stder, "cam9") || !strings.Contains(r.stder, "cam0, cam1") {
		t.Errorf("unknown camera: exit %d, %s", r.code, r.stder)
	}
	if r = run(t, "", "inspect", "--config", cfg); r.code != 2 {
		t.Errorf("no images: exit %d", r.code)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A file that is not an image gets an error line in its place; the others
// are inspected and the command exits 1 at the end.
func TestInspectGoesOnPastABadImage(t *testing.T) {
	testenv.RequireORT(t)
	cfg, model := offlineConfig(t)
	dir := t.TempDir()
	a, bad, c := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png"), filepath.Join(dir, "c.png")
	mustRun(t, "", "demo-image", "--out", a, "--width", "64", "--height", "48")
	mustRun(t, "", "demo-image", "--out", c, "--width", "40", "--height", "60")
	if err := os.WriteFile(bad, []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "results.jsonl")
	for _, args := range [][]string{{dir}, {"--out", out, dir}} {
		r := run(t, "", append([]string{"inspect", "--config", cfg}, args...)...)
		if r.code != 1 || !strings.Contains(r.stder, "b.png") || !strings.Contains(r.stder, "1 of 3 images") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stder)
		}
		text := r.stdout
		if len(args) > 1 {
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			text = string(data)
		}
		lines := parseLines(t, text)
		if len(lines) != 3 {
			t.Fatalf("%d lines, want 3:\n%s", len(lines), text)
		}
		checkVerdict(t, lines[0], model)
		checkVerdict(t, lines[2], model)
		if e := lines[1]; e.Image != bad || e.Seq != 2 || e.Outcome != "" || !strings.Contains(e.Error, "b.png") || !strings.Contains(e.Error, "not a PNG") {
			t.Errorf("bad image line: %+v", e)
		}
		if lines[2].Seq != 3 {
			t.Errorf("seq after the bad image: %d", lines[2].Seq)
		}
	}
}

// eval's reports equal eval.Compute over samples rebuilt from inspect's
// lines for the same images: the label is the image's folder, the defect
// score the sum of the defect classes' probabilities.
func TestEvalMatchesInspect(t *testing.T) {
	testenv.RequireORT(t)
	cfg, _ := offlineConfig(t)
	ds := t.TempDir()
	if err := synthetic.WriteDataset(ds, 1, 9); err != nil {
		t.Fatal(err)
	}
	jsonOut := filepath.Join(t.TempDir(), "eval.json")
	r := mustRun(t, "", "eval", "--config", cfg, "--dataset", ds, "--json", jsonOut)
	var got struct {
		Camera     string `json:"camera"`
		Categories []struct {
			Category string          `json:"category"`
			Report   json.RawMessage `json:"report"`
		} `json:"categories"`
		All json.RawMessage `json:"all"`
	}
	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("eval JSON: %v\n%s", err, data)
	}

	cats := slices.Clone(synthetic.PartTypes)
	sort.Strings(cats)
	if len(got.Categories) != len(cats) || got.Camera != "cam0" {
		t.Fatalf("categories %+v camera %s, want %v", got.Categories, got.Camera, cats)
	}
	var all []eval.Sample
	for i, cat := range cats {
		lines := parseLines(t, mustRun(t, "", "inspect", "--config", cfg, filepath.Join(ds, cat, "test")).stdout)
		if len(lines) != 1+len(synthetic.DefectKinds) {
			t.Fatalf("%s: %d images", cat, len(lines))
		}
		var samples []eval.Sample
		for _, v := range lines {
			label := filepath.Base(filepath.Dir(v.Image))
			score := 0.0
			for _, s := range v.Scores[1:] {
				score += s.Score
			}
			samples = append(samples, eval.Sample{Label: label, Good: label == "good", DefectScore: score, Outcome: v.Outcome, PredictedClass: v.Class})
		}
		all = append(all, samples...)
		want := eval.Compute(samples)
		if got.Categories[i].Category != cat || compactJSON(t, got.Categories[i].Report) != mustJSON(t, want) {
			t.Errorf("category %s:\neval    %s\ninspect %s", got.Categories[i].Category, compactJSON(t, got.Categories[i].Report), mustJSON(t, want))
		}
		if !strings.Contains(r.stdout, "== "+cat+" ==\n"+want.Table()) {
			t.Errorf("printed table for %s differs from\n%s\nin\n%s", cat, want.Table(), r.stdout)
		}
	}
	want := eval.Compute(all)
	if compactJSON(t, got.All) != mustJSON(t, want) {
		t.Errorf("all:\neval    %s\ninspect %s", compactJSON(t, got.All), mustJSON(t, want))
	}
	if want.Samples != len(cats)*(1+len(synthetic.DefectKinds)) || !strings.Contains(r.stdout, "== all ==\n"+want.Table()) {
		t.Errorf("summary: %d samples; printed:\n%s", want.Samples, r.stdout)
	}

	// One category folder is a dataset of its own.
	r = mustRun(t, "", "eval", "--config", cfg, "--dataset", filepath.Join(ds, cats[0]))
	if !strings.Contains(r.stdout, "== "+cats[0]+" ==") || strings.Contains(r.stdout, "== "+cats[1]+" ==") {
		t.Errorf("single category:\n%s", r.stdout)
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	// Re-encode through eval.Report so both sides share field order.
	var rep eval.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, rep)
}

func TestEvalExplainsTheLayout(t *testing.T) {
	cfg, _ := offlineConfig(t)
	flat := t.TempDir()
	mustRun(t, "", "demo-image", "--out", filepath.Join(flat, "a.png"))
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "bottle", "test", "good"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{flat, empty, filepath.Join(flat, "a.png"), filepath.Join(flat, "missing")} {
		r := run(t, "", "eval", "--config", cfg, "--dataset", dir)
		if r.code != 1 || !strings.Contains(r.stder, "MVTec AD") || !strings.Contains(r.stder, "<category>/test/good/") {
			if !(strings.HasSuffix(dir, "missing") && r.code == 1 && strings.Contains(r.stder, "missing")) {
				t.Errorf("%s: exit %d, %s", dir, r.code, r.stder)
			}
		}
	}
	if r := run(t, "", "eval", "--config", cfg); r.code != 2 {
		t.Errorf("no dataset: exit %d", r.code)
	}
}
