package cli

import (
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/eval"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
)

// goldenDefects are classes with both maps: golden samples and zero-shot.
const goldenDefects = `version: 1
sets:
  parts:
    uncertain: escalate
    good:
      prompts: ["a photo of a flawless part"]
      threshold: 0.5
    defects:
      - name: scratch
        prompts: ["a photo of a scratched part", "a close-up of a scratch"]
        threshold: 0.6
      - name: dent
        prompts: ["a photo of a dented part"]
        threshold: 0.6
    anomaly: {golden: true, zero_shot: true}
cameras:
  default: parts
`

// anomalyLineOut is the part of a `model anomaly` line the test reads.
type anomalyLineOut struct {
	Image string    `json:"image"`
	Grid  [2]int    `json:"grid"`
	Map   []float64 `json:"map"`
	Score float64   `json:"score"`
}

// Eval on a dataset written by `dataset synth`, with a generated model:
// its anomaly figures must be those of the maps `model anomaly` makes with
// train/good as golden samples and the set's prompts, ranked and upsampled
// independently here.
func TestEvalReportsAnomalyAUROCOfTheMaps(t *testing.T) {
	cfg, _ := offlineConfig(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "defects.yaml"), []byte(goldenDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	model := configBundle(t, cfg)
	ds := filepath.Join(t.TempDir(), "ds")
	mustRun(t, "", "dataset", "synth", "--out", ds, "--n", "3", "--seed", "2", "--parts", "bracket,washer")
	// One mask taken away: that image drops out of pixel AUROC only.
	noMask := filepath.Join(ds, "washer", "ground_truth", "dent", "001_mask.png")
	if err := os.Remove(noMask); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report.json")
	r := run(t, "", "eval", "--config", cfg, "--dataset", ds, "--json", out)
	if r.code != 0 {
		t.Fatalf("eval: exit %d\n%s", r.code, r.stder)
	}
	if !strings.Contains(r.stdout, "anomaly maps (golden samples: 3 from train/good)") || !strings.Contains(r.stdout, "pixel AUROC") {
		t.Errorf("text report lacks the anomaly section:\n%s", r.stdout)
	}
	var rep evalReport
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Anomaly == nil || len(rep.Categories) != 2 {
		t.Fatalf("report has no anomaly section or not 2 categories:\n%s", data)
	}

	var allPos, allNeg, allPxPos, allPxNeg []float64
	for _, c := range rep.Categories {
		if c.Golden != 3 || c.Anomaly == nil {
			t.Fatalf("category %s: %d golden samples, anomaly %v", c.Category, c.Golden, c.Anomaly)
		}
		golden, err := filepath.Glob(filepath.Join(ds, c.Category, "train", "good", "*.png"))
		if err != nil || len(golden) != 3 {
			t.Fatalf("golden images %v %v", golden, err)
		}
		tests, err := filepath.Glob(filepath.Join(ds, c.Category, "test", "*", "*.png"))
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"model", "anomaly", "--bundle", model, "--good", "a photo of a flawless part",
			"--defect", "scratch=a photo of a scratched part", "--defect", "scratch=a close-up of a scratch",
			"--defect", "dent=a photo of a dented part"}
		for _, g := range golden {
			args = append(args, "--golden", g)
		}
		ref := mustRun(t, "", append(args, tests...)...)
		var pos, neg, pxPos, pxNeg []float64
		for _, line := range strings.Split(strings.TrimSpace(ref.stdout), "\n") {
			var a anomalyLineOut
			if err := json.Unmarshal([]byte(line), &a); err != nil {
				t.Fatal(err)
			}
			good := filepath.Base(filepath.Dir(a.Image)) == "good"
			if good {
				neg = append(neg, a.Score)
			} else {
				pos = append(pos, a.Score)
			}
			var mask *image.Gray
			if !good {
				m := maskPath(a.Image)
				if m == noMask {
					continue
				}
				if mask, err = loadMask(m); err != nil {
					t.Fatal(err)
				}
			}
			// The 256 px synthetic pictures are resized whole into the
			// model's square input: the window is the whole image.
			up, err := eval.Upsample(a.Map, a.Grid[0], preprocess.Window{W: synthetic.DatasetSize, H: synthetic.DatasetSize}, synthetic.DatasetSize, synthetic.DatasetSize)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range up {
				if mask != nil && mask.Pix[i] == 255 {
					pxPos = append(pxPos, v)
				} else {
					pxNeg = append(pxNeg, v)
				}
			}
		}
		checkMetric(t, c.Category+" image AUROC", c.Anomaly.ImageAUROC, eval.AUROC(pos, neg))
		checkMetric(t, c.Category+" pixel AUROC", c.Anomaly.PixelAUROC, eval.AUROC(pxPos, pxNeg))
		allPos, allNeg = append(allPos, pos...), append(allNeg, neg...)
		allPxPos, allPxNeg = append(allPxPos, pxPos...), append(allPxNeg, pxNeg...)
	}
	checkMetric(t, "all image AUROC", rep.Anomaly.ImageAUROC, eval.AUROC(allPos, allNeg))
	checkMetric(t, "all pixel AUROC", rep.Anomaly.PixelAUROC, eval.AUROC(allPxPos, allPxNeg))
	if a := rep.Anomaly; a.Samples != 36 || a.MasksMissing != 1 || a.PixelImages != 35 || a.PixelsLeftOut != 0 {
		t.Errorf("all: %d samples, %d masks missing, %d pixel images, %d pixels left out; want 36, 1, 35, 0",
			a.Samples, a.MasksMissing, a.PixelImages, a.PixelsLeftOut)
	}
}

func checkMetric(t *testing.T, what string, got eval.Metric, want eval.Metric) {
	t.Helper()
	if !want.Defined() || math.Abs(float64(got-want)) > 1e-9 {
		t.Errorf("%s = %v, computed from `model anomaly` %v", what, got, want)
	}
}

// configBundle is the model bundle an offlineConfig names.
func configBundle(t *testing.T, cfg string) string {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if b, ok := strings.CutPrefix(strings.TrimSpace(line), "bundle: "); ok {
			return b
		}
	}
	t.Fatal("no bundle in config")
	return ""
}

func TestEvalWithoutAnomalySettingsHasNoAnomalySection(t *testing.T) {
	cfg, _ := offlineConfig(t)
	ds := filepath.Join(t.TempDir(), "ds")
	mustRun(t, "", "dataset", "synth", "--out", ds, "--n", "1", "--parts", "washer")
	out := filepath.Join(t.TempDir(), "report.json")
	r := mustRun(t, "", "eval", "--config", cfg, "--dataset", ds, "--json", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.stdout, "anomaly maps") || strings.Contains(string(data), `"anomaly"`) {
		t.Errorf("anomaly figures without anomaly settings:\n%s\n%s", r.stdout, data)
	}
}
