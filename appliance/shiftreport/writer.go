package shiftreport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// Folder is where, in the data directory, the reports are kept.
const Folder = "reports"

// Name is the base name of the report of the shift that starts at start,
// by local time: shift-20261203-0600.
func Name(start time.Time) string { return "shift-" + start.Local().Format("20060102-1504") }

// FilePattern is what a report file is called.
var FilePattern = regexp.MustCompile(`^shift-\d{8}-\d{4}\.(json|html)$`)

// Writer writes each shift's report when it ends.
type Writer struct {
	Dir    string // the reports folder
	Source Source
	Line   string
	Starts []int // the shifts' local start times, minutes after midnight
	// Publish, when set, gets each new report and its JSON (the PLC link).
	Publish func(r Report, data []byte)
	Now     func() time.Time
	Log     *slog.Logger
}

// Run writes the report of the last shift that ended, if it is not there
// (the appliance was off at its end, or stopped before it), then each
// shift's as it ends, until ctx ends.
func (w *Writer) Run(ctx context.Context) {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	start, _ := Bounds(w.Now(), w.Starts)
	prev, _ := Bounds(start.Add(-time.Minute), w.Starts)
	if _, err := os.Stat(filepath.Join(w.Dir, Name(prev)+".json")); errors.Is(err, os.ErrNotExist) {
		// A shift the appliance saw nothing of (a new box) gets no report.
		if r, err := Build(w.Source, w.Line, prev, start, w.Now()); err == nil && (r.Total.Total > 0 || len(r.Alarms) > 0) {
			w.write(prev, start)
		}
	}
	for {
		start, end := Bounds(w.Now(), w.Starts)
		t := time.NewTimer(end.Sub(w.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		w.write(start, end)
	}
}

func (w *Writer) write(start, end time.Time) {
	name, err := w.Write(start, end)
	if err != nil {
		w.Log.Error("shift report not written", "shift", start, "err", err)
		return
	}
	w.Log.Info("shift report written", "file", name)
}

// Write builds and saves the report of the shift [start, end) and hands it
// to Publish; it returns the JSON file's path.
func (w *Writer) Write(start, end time.Time) (string, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	r, err := Build(w.Source, w.Line, start, end, now())
	if err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("shift report: %w", err)
	}
	page, err := r.HTML()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return "", fmt.Errorf("shift report: %w", err)
	}
	base := filepath.Join(w.Dir, Name(start))
	// The page first: a report is listed once its JSON is there.
	if err := writeFile(base+".html", page); err != nil {
		return "", err
	}
	if err := writeFile(base+".json", append(data, '\n')); err != nil {
		return "", err
	}
	if w.Publish != nil {
		w.Publish(r, data)
	}
	return base + ".json", nil
}

// writeFile writes beside and renames over: a reader never sees half.
func writeFile(path string, data []byte) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("shift report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("shift report: %w", err)
	}
	return nil
}

// Entry is a saved report.
type Entry struct {
	Name  string    `json:"name"` // shift-YYYYMMDD-HHMM
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Total int64     `json:"total"`
	Yield float64   `json:"yield"`
	JSON  string    `json:"json"` // file names in the folder
	HTML  string    `json:"html"`
}

// List returns the saved reports, newest first, at most limit (0: all).
func List(dir string, limit int) ([]Entry, error) {
	names, err := filepath.Glob(filepath.Join(dir, "shift-*.json"))
	if err != nil {
		return nil, err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	out := []Entry{}
	for _, path := range names {
		if limit > 0 && len(out) == limit {
			break
		}
		base := filepath.Base(path)
		if !FilePattern.MatchString(base) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("shift reports: %w", err)
		}
		var r Report
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("shift report %s: %w", base, err)
		}
		stem := base[:len(base)-len(".json")]
		out = append(out, Entry{Name: stem, Start: r.Start, End: r.End, Total: r.Total.Total, Yield: r.Total.Yield,
			JSON: stem + ".json", HTML: stem + ".html"})
	}
	return out, nil
}
