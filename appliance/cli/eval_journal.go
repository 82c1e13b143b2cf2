package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/eval"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/localapi"
)

// journalEvalReport is what `linesight eval --journal --json` writes: the
// verdicts of the labelled records measured against their labels.
type journalEvalReport struct {
	Journal string    `json:"journal"`
	Camera  string    `json:"camera,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	// Labelled counts the labelled records read; Skipped those of them
	// whose good class cannot be told (UNCERTAIN without scores).
	Labelled int         `json:"labelled"`
	Skipped  int         `json:"skipped"`
	All      eval.Report `json:"all"`
}

// wantsJournalEval tells `eval --journal` from the dataset evaluation.
func wantsJournalEval(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "journal" {
			return true
		}
	}
	return false
}

// evalJournal measures the appliance's verdicts on the records engineers
// labelled: precision and recall per class and per outcome, and the
// confusions, as the dataset evaluation reports them.
func evalJournal(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("eval", stdio)
	path := fs.String("journal", "", "the journal: a data directory or the journal.db in it")
	since := fs.String("since", "", "only records captured from then: RFC3339 or an offset such as -24h")
	until := fs.String("until", "", "only records captured before then (default: now)")
	camera := fs.String("camera", "", "only this camera's records")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Err, "Usage: linesight eval --journal FILE [--since T] [--until T] [--camera ID] [--json FILE]")
		return errUsage
	}
	now := time.Now()
	from, err := parseWhen(*since, now)
	if err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	to, err := parseWhen(*until, now)
	if err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	dir, err := journalDir(*path)
	if err != nil {
		return err
	}
	src, err := openJournalDir(ctx, dir, stdio)
	if err != nil {
		return err
	}
	defer src.Close()

	rep := journalEvalReport{Journal: *path, Camera: *camera, Since: from, Until: to}
	var samples []eval.Sample
	q := journal.Query{Labelled: true, From: from, To: to, Camera: *camera, Oldest: true, Limit: 1000}
	err = eachRecord(src, q, func(r *journal.Record) error {
		rep.Labelled++
		s, ok := r.EvalSample()
		if !ok {
			rep.Skipped++
			return nil
		}
		samples = append(samples, s)
		return nil
	})
	if err != nil {
		return err
	}
	if rep.Labelled == 0 {
		return fmt.Errorf("%s has no labelled records%s: label verdicts in the dashboard's History first", *path, rangeText(rep))
	}
	rep.All = eval.Compute(samples)
	fmt.Fprintf(stdio.Out, "journal %s%s: %d labelled records", *path, rangeText(rep), rep.Labelled)
	if rep.Skipped > 0 {
		fmt.Fprintf(stdio.Out, " (%d UNCERTAIN without scores left out)", rep.Skipped)
	}
	fmt.Fprintf(stdio.Out, "\ntruth: the labels' true classes; prediction: the verdicts\n\n%s", rep.All.Table())
	if *jsonOut != "" {
		return writeOutput(*jsonOut, nil, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		})
	}
	return nil
}

func rangeText(rep journalEvalReport) string {
	var parts []string
	if rep.Camera != "" {
		parts = append(parts, "camera "+rep.Camera)
	}
	if !rep.Since.IsZero() {
		parts = append(parts, "since "+rep.Since.UTC().Format(time.RFC3339))
	}
	if !rep.Until.IsZero() {
		parts = append(parts, "until "+rep.Until.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// journalDir is the data directory of a journal given as the directory or
// its file.
func journalDir(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--journal: %w", err)
	}
	if fi.IsDir() {
		return path, nil
	}
	if filepath.Base(path) != journal.FileName {
		return "", fmt.Errorf("--journal %s: want a data directory or the %s in it", path, journal.FileName)
	}
	return filepath.Dir(path), nil
}

// openJournalDir reads a data directory's journal through the appliance
// running on it (which holds the file), else the file itself, read-only.
func openJournalDir(ctx context.Context, dir string, stdio Stdio) (journalSource, error) {
	c, err := localapi.Dial(ctx, dir)
	if err == nil {
		logger(stdio).Info("the appliance is running: reading its journal through it", "socket", c.Socket())
		return runningJournal{ctx, c}, nil
	}
	if !errors.Is(err, localapi.ErrNotRunning) {
		return nil, err
	}
	j, err := journal.Open(journal.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	return j, nil
}
