package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

// datasetSynth writes pictures of the synthetic line, labelled, in the
// MVTec AD layout that `linesight eval` reads.
func datasetSynth(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("dataset synth", stdio)
	out := fs.String("out", "", "folder to write the dataset into (created; refused when it holds anything, unless --force)")
	n := fs.Int("n", 10, "pictures per part type of each state (good and every defect kind), and as many good ones for training")
	seed := fs.Int64("seed", 1, "the same seed writes the same files")
	parts := fs.String("parts", "", fmt.Sprintf("part types (categories) to write, comma-separated (default: all of %v)", synthetic.PartTypes))
	force := fs.Bool("force", false, "write into a folder that is not empty, replacing the category folders this run writes")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stdio.Err, "Usage: linesight dataset synth --out DIR [--n N] [--seed S] [--parts washer,...] [--force]")
		return errUsage
	}
	if *n < 1 {
		return fmt.Errorf("--n %d: want at least 1 picture per part type and state", *n)
	}
	opts := synthetic.DatasetOptions{N: *n, Seed: *seed, Parts: parseList(*parts)}
	if *parts != "" && len(opts.Parts) == 0 {
		return fmt.Errorf("--parts %q names no part type (accepted: %v)", *parts, synthetic.PartTypes)
	}
	cats := opts.Parts
	if len(cats) == 0 {
		cats = synthetic.PartTypes
	}
	if err := prepareOut(*out, cats, *force); err != nil {
		return err
	}
	log := logger(stdio)
	var progress *offline.Progress
	opts.Progress = func(done, total int) {
		if progress == nil {
			progress = offline.NewProgress(log, "dataset synth", total)
		}
		progress.Done(done)
	}
	if err := synthetic.WriteDatasetWith(ctx, *out, opts); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "wrote %s: %d categories (%v), %d test and %d train pictures each, masks in ground_truth/\n",
		*out, len(cats), cats, *n*(len(synthetic.DefectKinds)+1), *n)
	return nil
}

// prepareOut makes sure dir can take the dataset: created when missing,
// refused when it holds anything unless force, and then the category
// folders about to be written are emptied so no picture of an earlier, larger
// set stays among the new ones.
func prepareOut(dir string, cats []string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create dataset folder: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("dataset folder %s: %w", dir, err)
	case len(entries) == 0:
		return nil
	case !force:
		return fmt.Errorf("dataset folder %s is not empty (it holds %s%s); choose another --out or add --force to replace the categories it writes",
			dir, entries[0].Name(), more(len(entries)-1))
	}
	for _, c := range cats {
		if err := os.RemoveAll(filepath.Join(dir, c)); err != nil {
			return fmt.Errorf("replace category %s: %w", c, err)
		}
	}
	return nil
}

func more(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}
