package cli

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/boltfile"
)

// damagedJournals returns the bytes of the fixture's journal truncated at
// several sizes below its last commit, and with garbage over the page of a
// record, by name.
func damagedJournals(t *testing.T, path string) map[string][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := boltfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	need := int(f.Meta.HighWater) * f.Meta.PageSize
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, size := range []int{100000, 16384, 8200, 5000, need / 2} {
		if size < need {
			out[fmt.Sprintf("truncated to %d", size)] = data[:size]
		}
	}
	off := bytes.Index(data, []byte(`{"id":3,"`))
	if off < 0 {
		t.Fatal("record 3 not found in the journal")
	}
	garbled := bytes.Clone(data)
	r := rand.New(rand.NewPCG(1, 1))
	for i := off / 4096 * 4096; i < (off/4096+1)*4096; i++ {
		garbled[i] = byte(r.UintN(256))
	}
	out["garbage page"] = garbled
	return out
}

// The journal commands on a damaged journal: export and stats say it is
// damaged (no crash), check says what is wrong, recover copies out what is
// readable and says how much.
func TestJournalCommandsOnADamagedJournal(t *testing.T) {
	cfgPath := journalFixture(t)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.DataDir, journal.FileName)
	cases := damagedJournals(t, path)
	if len(cases) < 4 {
		t.Fatalf("only %d damaged journals", len(cases))
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, "", "journal", "export", "--config", cfgPath)
			if r.code != 1 || !strings.Contains(r.stder, "damaged") || !strings.Contains(r.stder, "journal recover") {
				t.Errorf("export: exit %d\n%s", r.code, r.stder)
			}
			if strings.HasPrefix(name, "truncated") {
				if r := run(t, "", "journal", "stats", "--config", cfgPath); r.code != 1 || !strings.Contains(r.stder, "damaged") {
					t.Errorf("stats: exit %d\n%s", r.code, r.stder)
				}
			}
			r = run(t, "", "journal", "check", "--config", cfgPath)
			if r.code != 1 || !strings.Contains(r.stdout, "DAMAGED") || !strings.Contains(r.stdout, "problem:") {
				t.Errorf("check: exit %d\n%s%s", r.code, r.stdout, r.stder)
			}
			out := filepath.Join(t.TempDir(), "saved.jsonl")
			r = mustRun(t, "", "journal", "recover", "--file", path, "--out", out)
			m := regexp.MustCompile(`records: (\d+) saved to `).FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("recover report:\n%s", r.stdout)
			}
			saved, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(saved), "\n"); fmt.Sprint(n) != m[1] {
				t.Errorf("%d lines written, the report says %s", n, m[1])
			}
		})
	}
	// A sound journal checks clean.
	cfgPath = journalFixture(t)
	r := mustRun(t, "", "journal", "check", "--config", cfgPath)
	if !strings.Contains(r.stdout, ": sound") || !strings.Contains(r.stdout, "records: 4 readable, 0 lost") {
		t.Errorf("sound journal:\n%s", r.stdout)
	}
}

// kioskConfig writes a config for a tiny model and one synthetic camera,
// with the dashboard on a port the system picks (kiosk on, so the alarms
// read without login); edit may change the model bundle first.
func kioskConfig(t *testing.T, edit func(bundle string)) (cfgPath, dataDir string) {
	t.Helper()
	model := synth(t, 1, "fp32")
	if edit != nil {
		edit(model)
	}
	cfgPath = runConfig{
		Model:   model,
		Cameras: "  - id: cam0\n    source: {kind: synthetic, width: 64, height: 48, fps: 10, seed: 1}\n",
		Rest:    `web: {listen: "127.0.0.1:0", kiosk: true}` + "\n",
	}.write(t)
	return cfgPath, filepath.Join(filepath.Dir(cfgPath), "data")
}

// `linesight run` on a damaged journal (truncated at several sizes, a
// garbage page) sets it aside, starts a new one and raises the
// journal_quarantined alarm.
func TestRunSetsADamagedJournalAside(t *testing.T) {
	testenv.RequireORT(t)
	fixture, err := config.Load(journalFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range damagedJournals(t, filepath.Join(fixture.DataDir, journal.FileName)) {
		t.Run(name, func(t *testing.T) {
			cfgPath, dataDir := kioskConfig(t, nil)
			if err := os.WriteFile(filepath.Join(dataDir, journal.FileName), data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := startAppliance(t, cfgPath)
			url := r.URL
			var alarms string
			r.waitFor(t, "journal_quarantined alarm", func() bool {
				_, alarms = get(url + "/api/v1/alarms")
				return strings.Contains(alarms, `"journal_quarantined"`)
			})
			if !strings.Contains(alarms, "damaged") || !strings.Contains(alarms, "journal recover") {
				t.Errorf("alarm: %s", alarms)
			}
			aside, err := filepath.Glob(filepath.Join(dataDir, journal.FileName+journal.DamagedSuffix+"*"))
			if err != nil {
				t.Fatal(err)
			}
			if len(aside) != 1 {
				t.Fatalf("set aside: %v", aside)
			}
			if kept, err := os.ReadFile(aside[0]); err != nil {
				t.Fatal(err)
			} else if !bytes.Equal(kept, data) {
				t.Error("the damaged journal was not kept as it was")
			}
			if code := r.stop(t); code != 0 {
				t.Errorf("run exited %d:\n%s", code, r.Log.String())
			}
		})
	}
}
