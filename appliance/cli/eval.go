package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/linesight/linesight/appliance/eval"
	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/preprocess/cvmat"
)

// evalReport is what `linesight eval --json` writes: what was measured with
// what, a report per dataset category and one over all of them.
type evalReport struct {
	Dataset     string           `json:"dataset"`
	Camera      string           `json:"camera"`
	ClassSet    string           `json:"class_set"`
	ModelDigest string           `json:"model_digest"`
	ConfigHash  string           `json:"config_hash"`
	Categories  []categoryReport `json:"categories"`
	All         eval.Report      `json:"all"`
	// Anomaly is the anomaly maps' evaluation over all categories, when
	// the class set enables anomaly detection.
	Anomaly *eval.AnomalyReport `json:"anomaly,omitempty"`
	// Failed lists the images that could not be inspected; they count as
	// MISSED (wrong, and left out of AUROC).
	Failed []failedImage `json:"failed,omitempty"`
}

type categoryReport struct {
	Category string              `json:"category"`
	Report   eval.Report         `json:"report"`
	Anomaly  *eval.AnomalyReport `json:"anomaly,omitempty"`
	// Golden is how many train/good images were the golden samples.
	Golden int `json:"golden,omitempty"`
}

type failedImage struct {
	Image string `json:"image"`
	Error string `json:"error"`
}

func evalDataset(ctx context.Context, args []string, stdio Stdio) error {
	if wantsJournalEval(args) {
		return evalJournal(ctx, args, stdio)
	}
	fs := newFlags("eval", stdio)
	configPath := fs.String("config", "", "appliance config file: its model, data_dir, defects and cameras are used")
	dataset := fs.String("dataset", "", "labelled images in the MVTec AD layout: <category>/test/good/*.png, <category>/test/<defect>/*.png")
	jsonOut := fs.String("json", "", "also write the reports as JSON to this file")
	camera := fs.String("camera", "", "score with this camera's defect classes (default: the first camera)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *configPath == "" || *dataset == "" || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Err, "Usage: linesight eval --config FILE --dataset DIR [--json FILE] [--camera ID]")
		return errUsage
	}
	log := logger(stdio)
	// Read the dataset first: a wrong folder should not wait for the model.
	cats, err := offline.ReadDataset(*dataset, log)
	if err != nil {
		return err
	}
	setup, err := offline.Open(*configPath, *camera, log)
	if err != nil {
		return err
	}
	defer setup.Close()
	in := setup.Inspector
	maps, err := newEvalMaps(setup.Model, in.Scorer.Set(), log)
	if err != nil {
		return err
	}

	total := 0
	for _, c := range cats {
		total += len(c.Images)
	}
	progress := offline.NewProgress(log, "eval", total)
	rep := evalReport{
		Dataset:     *dataset,
		Camera:      in.Camera,
		ClassSet:    in.Scorer.Set().Name,
		ModelDigest: in.Scorer.ModelDigest(),
		ConfigHash:  in.Scorer.ConfigHash(),
	}
	var all []eval.Sample
	var allAnomaly []eval.AnomalySample
	allPixels, allMissing := &eval.Pixels{}, 0
	for _, c := range cats {
		done := len(all)
		in.Progress = func(n int) { progress.Done(done + n) }
		cr := categoryReport{Category: c.Name}
		var ce *categoryEval
		if maps != nil {
			if ce, err = maps.category(c); err != nil {
				return err
			}
			in.Anomaly = ce.inspector()
			cr.Golden = ce.golden
		}
		samples := make([]eval.Sample, 0, len(c.Images))
		err := in.Run(ctx, paths(c), func(it offline.Item) error {
			l := c.Images[it.Seq-1]
			s := eval.Sample{Label: l.Defect, Good: l.Good(), DefectScore: it.DefectScore}
			if it.Err != nil {
				log.Error("image not inspected", "image", it.Path, "err", it.Err)
				rep.Failed = append(rep.Failed, failedImage{Image: it.Path, Error: it.Err.Error()})
				s.Outcome = string(defects.Missed)
			} else {
				s.Outcome, s.PredictedClass = string(it.Verdict.Outcome), it.Verdict.Class
			}
			samples = append(samples, s)
			if ce != nil {
				if err := ce.add(l, it); err != nil {
					log.Error("image left out of pixel AUROC", "image", it.Path, "err", err)
					rep.Failed = append(rep.Failed, failedImage{Image: it.Path, Error: err.Error()})
				}
			}
			return nil
		})
		if ce != nil {
			ce.close()
		}
		if err != nil {
			return err
		}
		cr.Report = eval.Compute(samples)
		all = append(all, samples...)
		if ce != nil {
			a := eval.ComputeAnomaly(ce.samples, &ce.pixels, ce.masksMissing)
			cr.Anomaly = &a
			allAnomaly = append(allAnomaly, ce.samples...)
			allPixels.Merge(&ce.pixels)
			allMissing += ce.masksMissing
		}
		rep.Categories = append(rep.Categories, cr)
	}
	rep.All = eval.Compute(all)
	if maps != nil {
		a := eval.ComputeAnomaly(allAnomaly, allPixels, allMissing)
		rep.Anomaly = &a
	}
	printEval(stdio.Out, rep)
	if *jsonOut != "" {
		err := writeOutput(*jsonOut, nil, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		})
		if err != nil {
			return err
		}
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("%d of %d images could not be inspected or measured; they count as MISSED", len(rep.Failed), total)
	}
	return nil
}

func paths(c offline.Category) []string {
	out := make([]string, len(c.Images))
	for i, img := range c.Images {
		out[i] = img.Path
	}
	return out
}

func printEval(w io.Writer, rep evalReport) {
	fmt.Fprintf(w, "dataset %s, camera %s (class set %s), model %s, defect config %s\n",
		rep.Dataset, rep.Camera, rep.ClassSet, rep.ModelDigest, rep.ConfigHash)
	for _, c := range rep.Categories {
		fmt.Fprintf(w, "\n== %s ==\n%s", c.Category, c.Report.Table())
		if c.Anomaly != nil {
			fmt.Fprintf(w, "\nanomaly maps (golden samples: %d from train/good)\n%s", c.Golden, c.Anomaly.Table())
		}
	}
	fmt.Fprintf(w, "\n== all ==\n%s", rep.All.Table())
	if rep.Anomaly != nil {
		fmt.Fprintf(w, "\nanomaly maps\n%s", rep.Anomaly.Table())
	}
}

// evalMaps makes anomaly maps as the set asks: the few-shot map against
// each category's train/good images as golden samples, the zero-shot map
// against the set's class prompts.
type evalMaps struct {
	model   *clip.Model
	layers  []int       // few-shot memory layers; nil without golden samples
	classes [][]float32 // zero-shot class embeddings; nil without
}

// newEvalMaps prepares the set's anomaly maps; nil when the set has none,
// or when the model cannot make them (said on the log: the image-level
// evaluation goes on).
func newEvalMaps(m *clip.Model, set *defects.ClassSet, log *slog.Logger) (*evalMaps, error) {
	a := set.Anomaly
	if a == nil || (!a.Golden && !a.ZeroShot) {
		return nil, nil
	}
	e := &evalMaps{model: m}
	if a.Golden {
		e.layers = a.Layers
		if len(e.layers) == 0 {
			e.layers = m.Bundle.Config.VisionConfig.DefaultMemoryLayers()
		}
	}
	if err := m.CheckPatches(e.layers, a.ZeroShot); err != nil {
		log.Warn("the model cannot make the set's anomaly maps; evaluating image-level scoring only", "set", set.Name, "err", err)
		return nil, nil
	}
	if a.ZeroShot {
		classes := make([]promptClass, len(set.Classes))
		for i, c := range set.Classes {
			classes[i] = promptClass{name: c.Name, prompts: c.Prompts}
		}
		var err error
		if e.classes, err = embedClasses(m, classes); err != nil {
			return nil, fmt.Errorf("zero-shot map of set %q: %w", set.Name, err)
		}
		m.ReleaseText()
	}
	return e, nil
}

// categoryEval gathers one category's anomaly scores and pixel scores.
type categoryEval struct {
	maps         *evalMaps
	bank         *anomaly.Bank
	golden       int
	samples      []eval.AnomalySample
	pixels       eval.Pixels
	masksMissing int
}

// category prepares a category: its golden bank from <category>/train/good.
func (e *evalMaps) category(c offline.Category) (*categoryEval, error) {
	ce := &categoryEval{maps: e}
	if e.layers == nil {
		return ce, nil
	}
	dir := filepath.Join(c.Dir, "train", offline.GoodFolder)
	golden, err := goldenImages(dir)
	if err != nil {
		return nil, fmt.Errorf("category %s: golden samples: %w", c.Name, err)
	}
	patches := e.model.Vision.Grid() * e.model.Vision.Grid()
	if ce.bank, err = goldenBank(e.model, golden, e.layers, patches); err != nil {
		return nil, fmt.Errorf("category %s: %w", c.Name, err)
	}
	ce.golden = len(golden)
	return ce, nil
}

// goldenImages lists the golden samples of a category: its train/good
// images in name order, at most defects.MaxGolden, spread over the folder
// when it holds more.
func goldenImages(dir string) ([]string, error) {
	all, err := offline.ImageFiles([]string{dir})
	if err != nil {
		return nil, fmt.Errorf("the set takes golden samples from train/good: %w", err)
	}
	if len(all) <= defects.MaxGolden {
		return all, nil
	}
	out := make([]string, defects.MaxGolden)
	for i := range out {
		out[i] = all[i*len(all)/defects.MaxGolden]
	}
	return out, nil
}

func (ce *categoryEval) inspector() *offline.AnomalyMaps {
	return &offline.AnomalyMaps{Model: ce.maps.model,
		Detector: anomaly.Detector{Bank: ce.bank, Classes: ce.maps.classes, Scale: ce.maps.model.LogitScale}}
}

func (ce *categoryEval) close() {
	if ce.bank != nil {
		ce.bank.Close()
	}
}

// add records an inspected image's anomaly score and pixel scores. A
// defective image counts at pixel level when its mask exists
// (<category>/ground_truth/<defect>/<name>_mask.png).
func (ce *categoryEval) add(l offline.Labelled, it offline.Item) error {
	s := eval.AnomalySample{Good: l.Good(), Label: l.Defect, Score: math.NaN()}
	if it.Maps == nil {
		ce.samples = append(ce.samples, s)
		return nil // not inspected: already reported
	}
	s.Score = it.Maps.Score
	ce.samples = append(ce.samples, s)
	var mask *image.Gray
	if !l.Good() {
		path := maskPath(l.Path)
		if _, err := os.Stat(path); err != nil {
			ce.masksMissing++
			return nil
		}
		var err error
		if mask, err = loadMask(path); err != nil {
			return err
		}
	}
	w, h := it.Size.X, it.Size.Y
	win := ce.maps.model.Bundle.Preprocess.SourceWindow(w, h)
	g := ce.maps.model.Vision.Grid()
	up, err := eval.Upsample(it.Maps.Map, g, win, w, h)
	if err != nil {
		return err
	}
	if err := ce.pixels.Add(up, w, h, mask); err != nil {
		return fmt.Errorf("%s: %w", maskPath(l.Path), err)
	}
	return nil
}

// maskPath is MVTec AD's mask of a test image:
// <category>/test/<defect>/NNN.png -> <category>/ground_truth/<defect>/NNN_mask.png.
func maskPath(img string) string {
	defectDir := filepath.Dir(img)
	category := filepath.Dir(filepath.Dir(defectDir))
	stem := strings.TrimSuffix(filepath.Base(img), filepath.Ext(img))
	return filepath.Join(category, "ground_truth", filepath.Base(defectDir), stem+"_mask.png")
}

func loadMask(path string) (*image.Gray, error) {
	img, err := cvmat.LoadImageFile(path)
	if err != nil {
		return nil, fmt.Errorf("mask: %w", err)
	}
	if g, ok := img.(*image.Gray); ok {
		return g, nil
	}
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Rect, img, img.Bounds().Min, draw.Src)
	return g, nil
}
