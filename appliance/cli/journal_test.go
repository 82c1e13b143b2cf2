package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/inspect"
)

var jt0 = time.Date(2025, 3, 10, 8, 58, 30, 0, time.UTC)

// journalFixture writes a config for the tiny model of offlineConfig and
// a journal in its data_dir: four records of cam0, one a minute from 08:58:30,
// FAIL scratch, PASS good, FAIL scratch (part P7), MISSED, with embeddings of
// the model's size.
func journalFixture(t *testing.T) (configPath string) {
	t.Helper()
	configPath, modelDigest := offlineConfig(t)
	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(cfg.Model.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	dim := b.Config.ProjectionDim
	j, err := journal.Open(journal.Options{Dir: cfg.DataDir, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	rows := []struct {
		o     defects.Outcome
		class string
		part  string
	}{{defects.Fail, "scratch", ""}, {defects.Pass, "good", ""}, {defects.Fail, "scratch", "P7"}, {defects.Missed, "", ""}}
	for i, row := range rows {
		at := jt0.Add(time.Duration(i) * time.Minute)
		v := defects.Verdict{Camera: "cam0", Seq: uint64(i + 1), PartID: row.part, CapturedAt: at, InferredAt: at.Add(30 * time.Millisecond),
			Outcome: row.o, Action: defects.ActionReject, Class: row.class, Confidence: 0.5,
			Scores:      []defects.ClassScore{{Class: "good", Score: 0.5}, {Class: "scratch", Score: 0.5}},
			ModelDigest: modelDigest, ConfigHash: "cfg", Latency: 30 * time.Millisecond}
		if row.o == defects.Missed {
			v.Scores, v.Reason = nil, "trigger timeout"
		} else {
			v.Embedding = make([]float32, dim)
			for k := range v.Embedding {
				v.Embedding[k] = float32(r.NormFloat64())
			}
		}
		if err := j.Write(context.Background(), &inspect.Result{Verdict: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return configPath
}

func TestJournalExport(t *testing.T) {
	cfg := journalFixture(t)
	// jsonl, a range that holds ids 2 and 3 (08:59:30 and 09:00:30).
	r := mustRun(t, "", "journal", "export", "--config", cfg, "--format", "jsonl",
		"--from", "2025-03-10T08:59:00Z", "--to", "2025-03-10T09:01:00Z")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), r.stdout)
	}
	var rec struct {
		ID      uint64 `json:"id"`
		Outcome string `json:"outcome"`
		PartID  string `json:"part_id"`
		Capture string `json:"captured_at"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.ID != 3 || rec.Outcome != "FAIL" || rec.PartID != "P7" || rec.Capture != "2025-03-10T09:00:30Z" {
		t.Errorf("second line %+v", rec)
	}

	// csv of everything, to a file.
	out := filepath.Join(t.TempDir(), "x.csv")
	mustRun(t, "", "journal", "export", "--config", cfg, "--format", "csv", "--out", out)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the CSV export", f)
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	first, missed := rows[1], rows[4]
	if first[col["id"]] != "1" || first[col["outcome"]] != "FAIL" || first[col["scores"]] != "good=0.5;scratch=0.5" ||
		first[col["latency_ms"]] != "30.000" || first[col["captured_at"]] != "2025-03-10T08:58:30Z" {
		t.Errorf("first row %v", first)
	}
	if missed[col["outcome"]] != "MISSED" || missed[col["reason"]] != "trigger timeout" {
		t.Errorf("missed row %v", missed)
	}

	if r := run(t, "", "journal", "export", "--config", cfg, "--format", "xml"); r.code != 2 {
		t.Errorf("bad format: exit %d", r.code)
	}
	if r := run(t, "", "journal", "export", "--config", cfg, "--from", "yesterday"); r.code != 1 || !strings.Contains(r.stder, "-24h") {
		t.Errorf("bad time: exit %d %s", r.code, r.stder)
	}
}

func TestJournalStats(t *testing.T) {
	cfg := journalFixture(t)
	r := mustRun(t, "", "journal", "stats", "--config", cfg, "--json")
	var c journal.Counters
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatal(err)
	}
	if want := (journal.Counts{Total: 4, Pass: 1, Fail: 2, Missed: 1}); c.Counts != want || c.Yield != 0.25 ||
		c.ByClass["scratch"].Fail != 2 || c.ByCamera["cam0"].Total != 4 {
		t.Errorf("counters %+v", c)
	}
	// 08:59:00 to 09:00:00: id 2 alone.
	r = mustRun(t, "", "journal", "stats", "--config", cfg, "--from", "2025-03-10T08:59:00Z", "--to", "2025-03-10T09:00:00Z")
	if !strings.Contains(r.stdout, "total 1  yield 100.00%") {
		t.Errorf("stats:\n%s", r.stdout)
	}
	// Relative times parse: nothing was captured in the last hour.
	r = mustRun(t, "", "journal", "stats", "--config", cfg, "--from", "-1h")
	if !strings.Contains(r.stdout, "total 0 ") {
		t.Errorf("last hour:\n%s", r.stdout)
	}
}

func TestJournalRescore(t *testing.T) {
	testenv.RequireORT(t)
	cfg := journalFixture(t)
	// Defect thresholds no probability reaches, and a good threshold every
	// one does: every rescored record PASSes. Stored: FAIL, PASS, FAIL and
	// a MISSED, which is skipped.
	lenient := `version: 1
sets:
  parts:
    uncertain: escalate
    good:
      prompts: ["a photo of a flawless part"]
      threshold: 0.001
    defects:
      - name: scratch
        prompts: ["a photo of a scratched part"]
        threshold: 0.999
cameras:
  default: parts
`
	path := filepath.Join(t.TempDir(), "new.yaml")
	if err := os.WriteFile(path, []byte(lenient), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "journal", "rescore", "--config", cfg, "--defects", path)
	for _, want := range []string{
		"rescored 3 records", "(1 skipped",
		"PASS              1        3", "FAIL              2        0",
		"pass rate    33.33%  100.00%",
		"FAIL (scratch) -> PASS (good): 2",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	// The records are untouched.
	r = mustRun(t, "", "journal", "stats", "--config", cfg)
	if !strings.Contains(r.stdout, "total 4  yield 25.00%") {
		t.Errorf("after rescore:\n%s", r.stdout)
	}
}
