package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/eval"
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
	// Failed lists the images that could not be inspected; they count as
	// MISSED (wrong, and left out of AUROC).
	Failed []failedImage `json:"failed,omitempty"`
}

type categoryReport struct {
	Category string      `json:"category"`
	Report   eval.Report `json:"report"`
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

	var paths []string
	var labels []offline.Labelled
	for _, c := range cats {
		for _, img := range c.Images {
			paths = append(paths, img.Path)
			labels = append(labels, img)
		}
	}
	in := setup.Inspector
	in.Progress = offline.NewProgress(log, "eval", len(paths)).Done
	samples := make([]eval.Sample, 0, len(paths))
	var failed []failedImage
	err = in.Run(ctx, paths, func(it offline.Item) error {
		l := labels[it.Seq-1]
		s := eval.Sample{Label: l.Defect, Good: l.Good(), DefectScore: it.DefectScore}
		if it.Err != nil {
			log.Error("image not inspected", "image", it.Path, "err", it.Err)
			failed = append(failed, failedImage{Image: it.Path, Error: it.Err.Error()})
			s.Outcome = string(defects.Missed)
		} else {
			s.Outcome, s.PredictedClass = string(it.Verdict.Outcome), it.Verdict.Class
		}
		samples = append(samples, s)
		return nil
	})
	if err != nil {
		return err
	}

	rep := evalReport{
		Dataset:     *dataset,
		Camera:      in.Camera,
		ClassSet:    in.Scorer.Set().Name,
		ModelDigest: in.Scorer.ModelDigest(),
		ConfigHash:  in.Scorer.ConfigHash(),
		All:         eval.Compute(samples),
		Failed:      failed,
	}
	start := 0
	for _, c := range cats {
		n := len(c.Images)
		rep.Categories = append(rep.Categories, categoryReport{c.Name, eval.Compute(samples[start : start+n])})
		start += n
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
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d images could not be inspected; they count as MISSED", len(failed), len(paths))
	}
	return nil
}

func printEval(w io.Writer, rep evalReport) {
	fmt.Fprintf(w, "dataset %s, camera %s (class set %s), model %s, defect config %s\n",
		rep.Dataset, rep.Camera, rep.ClassSet, rep.ModelDigest, rep.ConfigHash)
	for _, c := range rep.Categories {
		fmt.Fprintf(w, "\n== %s ==\n%s", c.Category, c.Report.Table())
	}
	fmt.Fprintf(w, "\n== all ==\n%s", rep.All.Table())
}
