package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/defects"
)

// parseWhen parses RFC3339 or an offset from now such as -24h ("" is
// unbounded).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC3339 (2025-03-10T08:00:00Z) or an offset from now (-24h)", s)
}

// journalFlags are the flags every journal command shares.
type journalFlags struct {
	config, from, to *string
}

func addJournalFlags(fs interface {
	String(string, string, string) *string
}) journalFlags {
	return journalFlags{
		config: fs.String("config", "", "appliance config file: its data_dir holds the journal"),
		from:   fs.String("from", "", "start of the capture-time range: RFC3339 or an offset such as -24h (default: the beginning)"),
		to:     fs.String("to", "", "end of the range, exclusive (default: now)"),
	}
}

// rangeAndConfig parses the range and reads the config.
func (f journalFlags) rangeAndConfig() (cfg *config.Config, from, to time.Time, err error) {
	now := time.Now()
	if from, err = parseWhen(*f.from, now); err != nil {
		return nil, from, to, fmt.Errorf("--from: %w", err)
	}
	if to, err = parseWhen(*f.to, now); err != nil {
		return nil, from, to, fmt.Errorf("--to: %w", err)
	}
	cfg, err = config.Load(*f.config)
	return cfg, from, to, err
}

// open reads the config and opens its journal read-only, with the range.
func (f journalFlags) open() (*config.Config, *journal.Journal, time.Time, time.Time, error) {
	cfg, from, to, err := f.rangeAndConfig()
	if err != nil {
		return nil, nil, from, to, err
	}
	j, err := journal.Open(journal.Options{Dir: cfg.DataDir, ReadOnly: true})
	if err != nil {
		return nil, nil, from, to, err
	}
	return cfg, j, from, to, nil
}

// journalSource is the journal the stats and export commands read: the file
// itself, or a running appliance's journal through its local API.
type journalSource interface {
	Counters(from, to time.Time) (journal.Counters, error)
	Query(q journal.Query) (journal.Page, error)
	Close() error
}

// source opens the journal for stats and export: through the appliance when
// one runs on the data directory (it holds the file), else the file,
// read-only.
func (f journalFlags) source(ctx context.Context, log *slog.Logger) (journalSource, time.Time, time.Time, error) {
	cfg, from, to, err := f.rangeAndConfig()
	if err != nil {
		return nil, from, to, err
	}
	c, err := localapi.Dial(ctx, cfg.DataDir)
	if err == nil {
		log.Info("the appliance is running: reading its journal through it", "socket", c.Socket())
		return runningJournal{ctx, c}, from, to, nil
	}
	if !errors.Is(err, localapi.ErrNotRunning) {
		return nil, from, to, err
	}
	j, err := journal.Open(journal.Options{Dir: cfg.DataDir, ReadOnly: true})
	if err != nil {
		return nil, from, to, err
	}
	return j, from, to, nil
}

// runningJournal is the journal of the appliance running on the data
// directory.
type runningJournal struct {
	ctx context.Context
	c   *localapi.Client
}

func (r runningJournal) Counters(from, to time.Time) (journal.Counters, error) {
	return r.c.Counters(r.ctx, from, to)
}
func (r runningJournal) Query(q journal.Query) (journal.Page, error) { return r.c.Query(r.ctx, q) }
func (r runningJournal) Close() error                                { r.c.Close(); return nil }

func journalExport(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("journal export", stdio)
	jf := addJournalFlags(fs)
	format := fs.String("format", "jsonl", "csv or jsonl")
	out := fs.String("out", "", "write to this file (default: standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *jf.config == "" || fs.NArg() > 0 || (*format != "csv" && *format != "jsonl") {
		fmt.Fprintln(stdio.Err, "Usage: linesight journal export --config FILE [--from T] [--to T] [--format csv|jsonl] [--out FILE]")
		return errUsage
	}
	j, from, to, err := jf.source(ctx, logger(stdio))
	if err != nil {
		return err
	}
	defer j.Close()
	return writeOutput(*out, stdio.Out, func(w io.Writer) error {
		write := writeJSONL
		if *format == "csv" {
			write = writeCSV
		}
		return write(w, j, journal.Query{From: from, To: to, Oldest: true, Limit: 1000})
	})
}

// eachRecord pages through a query.
func eachRecord(j journalSource, q journal.Query, f func(*journal.Record) error) error {
	for {
		p, err := j.Query(q)
		if err != nil {
			return err
		}
		for i := range p.Records {
			if err := f(&p.Records[i]); err != nil {
				return err
			}
		}
		if p.Next == "" {
			return nil
		}
		q.Cursor = p.Next
	}
}

func writeJSONL(w io.Writer, j journalSource, q journal.Query) error {
	enc := json.NewEncoder(w)
	return eachRecord(j, q, func(r *journal.Record) error { return enc.Encode(r) })
}

var csvHeader = []string{"id", "camera", "seq", "part_id", "captured_at", "inferred_at", "published_at",
	"outcome", "action", "class", "confidence", "scores", "latency_ms", "reason", "model_digest",
	"config_hash", "truth_defect", "image"}

func writeCSV(w io.Writer, j journalSource, q journal.Query) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	err := eachRecord(j, q, func(r *journal.Record) error {
		scores := make([]string, len(r.Scores))
		for i, s := range r.Scores {
			scores[i] = s.Class + "=" + strconv.FormatFloat(s.Score, 'g', 6, 64)
		}
		truth := ""
		if r.Truth != nil {
			truth = r.Truth.Defect
		}
		return cw.Write([]string{
			strconv.FormatUint(r.ID, 10), r.Camera, strconv.FormatUint(r.Seq, 10), r.PartID,
			stamp(r.CapturedAt), stamp(r.InferredAt), stamp(r.PublishedAt),
			string(r.Outcome), string(r.Action), r.Class, strconv.FormatFloat(r.Confidence, 'g', 6, 64),
			strings.Join(scores, ";"), strconv.FormatFloat(float64(r.Latency)/1e6, 'f', 3, 64), r.Reason,
			r.ModelDigest, r.ConfigHash, truth, r.Image,
		})
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func journalStats(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("journal stats", stdio)
	jf := addJournalFlags(fs)
	asJSON := fs.Bool("json", false, "print the counters as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *jf.config == "" || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Err, "Usage: linesight journal stats --config FILE [--from T] [--to T] [--json]")
		return errUsage
	}
	j, from, to, err := jf.source(ctx, logger(stdio))
	if err != nil {
		return err
	}
	defer j.Close()
	c, err := j.Counters(from, to)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	}
	w := stdio.Out
	bound := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "from %s to %s\n", bound(c.From, "the beginning"), bound(c.To, "now"))
	fmt.Fprintf(w, "total %d  yield %.2f%%\n", c.Total, 100*c.Yield)
	fmt.Fprintf(w, "%-20s %8s %8s %8s %10s %8s\n", "", "total", "pass", "fail", "uncertain", "missed")
	row := func(name string, n journal.Counts) {
		fmt.Fprintf(w, "%-20s %8d %8d %8d %10d %8d\n", name, n.Total, n.Pass, n.Fail, n.Uncertain, n.Missed)
	}
	row("all", c.Counts)
	for _, k := range sortedKeys(c.ByCamera) {
		row("camera "+k, c.ByCamera[k])
	}
	for _, k := range sortedKeys(c.ByClass) {
		name := "class " + k
		if k == "" {
			name = "class (none)"
		}
		row(name, c.ByClass[k])
	}
	return nil
}

func sortedKeys(m map[string]journal.Counts) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func journalRescore(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("journal rescore", stdio)
	jf := addJournalFlags(fs)
	defectsPath := fs.String("defects", "", "the defect-class file to try on the stored embeddings")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *jf.config == "" || *defectsPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Err, "Usage: linesight journal rescore --config FILE --defects NEW_DEFECTS.yaml [--from T] [--to T]")
		return errUsage
	}
	log := logger(stdio)
	classes, err := defects.Load(*defectsPath)
	if err != nil {
		return err
	}
	cfg, j, from, to, err := jf.open()
	if err != nil {
		return err
	}
	defer j.Close()
	model, err := app.OpenModel(cfg.Model, log)
	if err != nil {
		return fmt.Errorf("open model: %w", err)
	}
	defer model.Close()
	cache, err := app.OpenToolCache(cfg.DataDir, log)
	if err != nil {
		return err
	}
	// Only the text encoder is used; the cache is closed once the prompts
	// are embedded.
	scorers := map[string]*defects.Scorer{}
	bySet := map[string]*defects.Scorer{}
	for _, cam := range cfg.Cameras {
		set, err := classes.SetFor(cam.Name(cfg.Line))
		if err != nil {
			cache.Close()
			return fmt.Errorf("camera %q: %w", cam.ID, err)
		}
		s, ok := bySet[set.Name]
		if !ok {
			if s, err = defects.Prepare(set, cache, model, model.Digest, model.LogitScale); err != nil {
				cache.Close()
				return fmt.Errorf("camera %q: %w", cam.ID, err)
			}
			bySet[set.Name] = s
		}
		scorers[cam.ID] = s
	}
	if err := cache.Close(); err != nil {
		return err
	}
	rep, err := j.Rescore(from, to, func(camera string) *defects.Scorer { return scorers[camera] })
	if err != nil {
		return err
	}
	printRescore(stdio.Out, rep, *defectsPath)
	return nil
}

func printRescore(w io.Writer, rep journal.RescoreReport, path string) {
	fmt.Fprintf(w, "rescored %d records with %s (%d skipped: MISSED, no embedding, another model, or a camera without classes)\n",
		rep.Rescored, path, rep.Skipped)
	fmt.Fprintf(w, "%-10s %8s %8s\n", "", "before", "after")
	for _, r := range []struct {
		name string
		a, b int64
	}{{"PASS", rep.Before.Pass, rep.After.Pass}, {"FAIL", rep.Before.Fail, rep.After.Fail},
		{"UNCERTAIN", rep.Before.Uncertain, rep.After.Uncertain}} {
		fmt.Fprintf(w, "%-10s %8d %8d\n", r.name, r.a, r.b)
	}
	fmt.Fprintf(w, "%-10s %7.2f%% %7.2f%%\n", "pass rate", 100*rep.Before.Yield(), 100*rep.After.Yield())
	if len(rep.Flips) == 0 {
		fmt.Fprintln(w, "no verdict changes")
		return
	}
	fmt.Fprintln(w, "changes:")
	for _, f := range rep.Flips {
		fmt.Fprintf(w, "  %s (%s) -> %s (%s): %d\n", f.From, f.FromClass, f.To, f.ToClass, f.Count)
	}
}
