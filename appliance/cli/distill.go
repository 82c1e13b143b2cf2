package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/linesight/linesight/appliance/distill"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/ortlib"
	"github.com/linesight/linesight/pipeline/clip/engine"
)

// modelDistill trains a student bundle on the line's images to give the
// teacher's image embeddings (docs/distill.md). An offline tool: it needs
// PyTorch, which the box never has.
func modelDistill(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model distill", stdio)
	teacher := fs.String("teacher", "", "the teacher's model bundle")
	teacherVariant := fs.String("teacher-variant", "fp32", "the teacher's variant whose embeddings the student learns")
	student := fs.String("student", "", "the student: a preset (vit-b-16, vit-b-32, ...) or WIDTHxLAYERSxHEADS/PATCH, e.g. 256x6x4/16")
	pruneRatio := fs.Float64("prune", 0, "instead of --student: the teacher's own vision tower with this share of every MLP's hidden units and of every layer's attention heads cut (the least important), recovered by training")
	pruneHeads := fs.Float64("prune-heads", -1, "with --prune: the share of attention heads to cut instead (0 keeps every head); default: the --prune share")
	initFrom := fs.String("init", "", "a Hugging Face CLIP checkpoint to start the student's vision tower from (where shapes fit); default: random")
	images := fs.String("images", "", "a folder of images (.png, .jpg, .jpeg, .gif, searched recursively, as inspect does)")
	journalDir := fs.String("journal", "", "a data directory whose journal's stored images are used too")
	epochs := fs.Int("epochs", -1, "passes over the training images; 0 with --prune: no training, the cut model as it is")
	minutes := fs.Float64("minutes", 0, "or: train for this long")
	out := fs.String("out", "", "the student bundle to write")
	variants := fs.String("variants", "fp32,int8", "variants of the student bundle")
	heldOut := fs.Float64("held-out", 0.1, "share of the images never trained on, for the report")
	batch := fs.Int("batch", 32, "training batch size")
	lr := fs.Float64("lr", 1e-3, "peak learning rate")
	seed := fs.Uint64("seed", 1, "seed of the student's initial weights and the training order")
	threads := fs.Int("threads", 0, "threads for ONNX Runtime and PyTorch; 0: all cores")
	classes := fs.String("classes", "", "a defect-class file: the report gives the share of held-out verdicts (default set) the student agrees on")
	python := fs.String("python", "", "a python3 with PyTorch (default: python3, else /usr/bin/python3)")
	ortLib := fs.String("ort-library", "", "libonnxruntime.so.1 (default: $LINESIGHT_ORT_LIB, then "+ortlib.DefaultPath+")")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *teacher == "" || *out == "":
		return fmt.Errorf("model distill: need --teacher DIR and --out DIR")
	case (*student == "") == (*pruneRatio == 0):
		return fmt.Errorf("model distill: give one of --student SPEC and --prune RATIO")
	case *pruneRatio < 0 || *pruneRatio >= 1:
		return fmt.Errorf("model distill: --prune %g: give a share above 0 and below 1", *pruneRatio)
	case *pruneHeads >= 0 && *pruneRatio == 0:
		return fmt.Errorf("model distill: --prune-heads goes with --prune")
	case *pruneHeads >= 1:
		return fmt.Errorf("model distill: --prune-heads %g: give a share from 0 to below 1", *pruneHeads)
	case *images == "" && *journalDir == "":
		return fmt.Errorf("model distill: need --images DIR and/or --journal DATA_DIR")
	case (*epochs >= 0) == (*minutes > 0):
		return fmt.Errorf("model distill: give one of --epochs N and --minutes M")
	case *epochs == 0 && *pruneRatio == 0:
		return fmt.Errorf("model distill: --epochs 0 (no training) goes with --prune: an untrained student means nothing")
	case *heldOut <= 0 || *heldOut >= 0.5:
		return fmt.Errorf("model distill: --held-out %g: give a share above 0 and below 0.5", *heldOut)
	}
	vs, err := (&bundleFlags{variants: *variants}).parseVariants()
	if err != nil {
		return err
	}
	var files []string
	if *images != "" {
		if files, err = distillImages(*images); err != nil {
			return err
		}
	}
	if *journalDir != "" {
		more, err := distillImages(filepath.Join(*journalDir, journal.ImagesDir))
		if err != nil {
			return err
		}
		files = append(files, more...)
	}
	if *pruneHeads < 0 {
		*pruneHeads = *pruneRatio
	}
	o := distill.Options{Teacher: *teacher, TeacherVariant: *teacherVariant, Student: *student, Prune: *pruneRatio, PruneHeads: *pruneHeads, Init: *initFrom,
		Images: files, HeldOut: *heldOut, Out: *out, Variants: vs, Epochs: max(0, *epochs), Minutes: *minutes, Untrained: *epochs == 0,
		Batch: *batch, LR: *lr, Seed: *seed, Threads: *threads, Python: *python,
		Progress: func(s string) { fmt.Fprintln(stdio.Err, s) }}
	if *classes != "" {
		if o.Classes, err = defects.Load(*classes); err != nil {
			return err
		}
	}
	if err := engine.Init(*ortLib); err != nil {
		return err
	}
	rep, err := distill.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Err, "wrote %s: held-out cosine to the teacher %.3f (untrained %.3f); %.1f img/s against the teacher's %.1f\n",
		*out, rep.CosineAfter, rep.CosineBefore, rep.StudentImgS, rep.TeacherImgS)
	enc := json.NewEncoder(stdio.Out)
	return enc.Encode(rep)
}

// distillImages lists the images below dir by the offline inspector's
// rule (offline.ImageFiles), without a dataset's ground-truth masks.
func distillImages(dir string) ([]string, error) {
	all, err := offline.ImageFiles([]string{dir})
	if err != nil {
		return nil, fmt.Errorf("model distill: %w", err)
	}
	out := all[:0]
	for _, p := range all {
		if !strings.HasSuffix(strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)), "_mask") {
			out = append(out, p)
		}
	}
	return out, nil
}
