package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/defects"
)

// inspectLine is one image's line of `linesight inspect` output: the verdict
// the appliance would publish, the file it is about, and the defect score to
// rank images by.
type inspectLine struct {
	Image string `json:"image"`
	defects.Verdict
	// DefectScore is left out when the image has no scores (see Reason).
	DefectScore *float64 `json:"defect_score,omitempty"`
}

// inspectError is the line for an image that could not be inspected; Seq
// keeps the numbering of the other lines.
type inspectError struct {
	Image  string `json:"image"`
	Camera string `json:"camera"`
	Seq    int    `json:"seq"`
	Error  string `json:"error"`
}

func inspectImages(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("inspect", stdio)
	configPath := fs.String("config", "", "appliance config file: its model, data_dir, defects and cameras are used")
	out := fs.String("out", "", "write the JSON lines to this file (atomically) instead of stdout")
	camera := fs.String("camera", "", "score with this camera's defect classes (default: the first camera)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: linesight inspect --config FILE [--out FILE] [--camera ID] IMAGE_OR_DIR...\n\n"+
			"Prints one JSON verdict per image; directories are searched recursively, in name order.")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *configPath == "" || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	paths, err := offline.ImageFiles(fs.Args())
	if err != nil {
		return err
	}
	log := logger(stdio)
	setup, err := offline.Open(*configPath, *camera, log)
	if err != nil {
		return err
	}
	defer setup.Close()

	return writeOutput(*out, stdio.Out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		failed := 0
		in := setup.Inspector
		in.Progress = offline.NewProgress(log, "inspect", len(paths)).Done
		err := in.Run(ctx, paths, func(it offline.Item) error {
			if it.Err != nil {
				failed++
				log.Error("image not inspected", "image", it.Path, "err", it.Err)
				return enc.Encode(inspectError{Image: it.Path, Camera: in.Camera, Seq: it.Seq, Error: it.Err.Error()})
			}
			line := inspectLine{Image: it.Path, Verdict: it.Verdict}
			if !math.IsNaN(it.DefectScore) {
				line.DefectScore = &it.DefectScore
			}
			return enc.Encode(line)
		})
		if err != nil {
			return err
		}
		if failed > 0 {
			return errPartial{fmt.Errorf("%d of %d images could not be inspected (see their error lines)", failed, len(paths))}
		}
		return nil
	})
}

// errPartial marks a run whose output is complete but reports failed items:
// the output is kept and the command still exits non-zero.
type errPartial struct{ error }

func (e errPartial) Unwrap() error { return e.error }

// writeOutput runs write on stdout, or on a temporary file beside path that
// replaces path only once write is done, so a reader never sees half a
// file and a failed run leaves an earlier file in place.
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) (err error) {
	if path == "" {
		return write(stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer func() {
		if err != nil && !errors.As(err, new(errPartial)) {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes it private
		return fmt.Errorf("write %s: %w", path, err)
	}
	werr := write(f)
	if werr != nil && !errors.As(werr, new(errPartial)) {
		return werr
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return werr
}
