package cli

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
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
	f.Close()
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
			saved, _ := os.ReadFile(out)
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

// running is `linesight run` in this process.
type running struct {
	logs   *lockedBuffer
	done   chan int
	cancel context.CancelFunc
}

// applianceConfig writes a config for a tiny model and one synthetic
// camera, with the dashboard on a port the system picks (kiosk on, so the
// alarms read without login); edit may change the model bundle first.
func applianceConfig(t *testing.T, edit func(bundle string)) (cfgPath, dataDir string) {
	t.Helper()
	model := synth(t, 1, "fp32")
	if edit != nil {
		edit(model)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`line: l1
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: cam0
    source: {kind: synthetic, width: 64, height: 48, fps: 10, seed: 1}
web: {listen: "127.0.0.1:0", kiosk: true}
`, model)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(offlineDefects), 0o644))
	cfgPath = filepath.Join(dir, "linesight.yaml")
	must(os.WriteFile(cfgPath, []byte(cfg), 0o644))
	dataDir = filepath.Join(dir, "data")
	must(os.MkdirAll(dataDir, 0o755))
	return cfgPath, dataDir
}

// launchRun starts `linesight run` without waiting for it to be ready: the
// tests of a failing start read its exit.
func launchRun(t *testing.T, cfgPath string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{logs: &lockedBuffer{}, done: make(chan int, 1), cancel: cancel}
	go func() {
		r.done <- Run(ctx, []string{"run", "--config", cfgPath}, Stdio{In: strings.NewReader(""), Out: r.logs, Err: r.logs})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("run did not stop")
		}
	})
	return r
}

// wait polls until ok, failing after a generous deadline.
func (r *running) wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 90 s; log:\n%s", what, r.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *running) url(t *testing.T) string {
	t.Helper()
	var url string
	r.wait(t, "web server listening", func() bool {
		m := listeningURL.FindStringSubmatch(r.logs.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	return url
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// `linesight run` on a damaged journal (truncated at several sizes, a
// garbage page) sets it aside, starts a new one and raises the
// journal_quarantined alarm.
func TestRunSetsADamagedJournalAside(t *testing.T) {
	fixture, err := config.Load(journalFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range damagedJournals(t, filepath.Join(fixture.DataDir, journal.FileName)) {
		t.Run(name, func(t *testing.T) {
			cfgPath, dataDir := applianceConfig(t, nil)
			if err := os.WriteFile(filepath.Join(dataDir, journal.FileName), data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := launchRun(t, cfgPath)
			url := r.url(t)
			r.wait(t, "ready", func() bool { code, _ := get(url + "/readyz"); return code == 200 })
			var alarms string
			r.wait(t, "journal_quarantined alarm", func() bool {
				_, alarms = get(url + "/api/v1/alarms")
				return strings.Contains(alarms, `"journal_quarantined"`)
			})
			if !strings.Contains(alarms, "damaged") || !strings.Contains(alarms, "journal recover") {
				t.Errorf("alarm: %s", alarms)
			}
			aside, _ := filepath.Glob(filepath.Join(dataDir, journal.FileName+journal.DamagedSuffix+"*"))
			if len(aside) != 1 {
				t.Fatalf("set aside: %v", aside)
			}
			if kept, _ := os.ReadFile(aside[0]); !bytes.Equal(kept, data) {
				t.Error("the damaged journal was not kept as it was")
			}
			r.cancel()
			if code := <-r.done; code != 0 {
				t.Errorf("run exited %d:\n%s", code, r.logs.String())
			}
			r.done <- 0 // for the cleanup
		})
	}
}
