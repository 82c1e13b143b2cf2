package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

// modelConfig writes a configuration holding a data directory and the
// model path "model" beside it, with nothing installed there yet.
func modelConfig(t *testing.T) (cfg, dataDir, modelPath string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: data\nmodel: {bundle: model}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, filepath.Join(dir, "data"), filepath.Join(dir, "model")
}

// auditLog reads the audit log of the users' store in dataDir, newest first.
func auditLog(t *testing.T, dataDir string) []users.AuditEntry {
	t.Helper()
	s, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", s)
	log, err := s.AuditLog(100)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func TestModelInstallAndRollback(t *testing.T) {
	cfg, dataDir, modelPath := modelConfig(t)
	first, second := synth(t, 1, "fp32,int8"), synth(t, 2, "fp32")
	d1, d2 := digest(t, first, "fp32"), digest(t, second, "fp32")

	out := mustRun(t, "", "model", "digest", "--bundle", first).stdout
	if !strings.Contains(out, "fp32 "+d1+"\n") || !strings.Contains(out, "int8 "+digest(t, first, "int8")+"\n") {
		t.Fatalf("model digest printed:\n%s\nwant fp32 %s and the int8 digest", out, d1)
	}

	// The publisher's digest does not match: refused, nothing installed.
	r := run(t, "", "model", "install", "--config", cfg, "--bundle", second, "--digest", d1)
	if r.code != 1 || !strings.Contains(r.stder, "not the expected "+d1) || !strings.Contains(r.stder, "nothing changed") {
		t.Fatalf("install with a wrong digest: exit %d\n%s", r.code, r.stder)
	}
	if _, err := os.Lstat(modelPath); !os.IsNotExist(err) {
		t.Fatalf("a refused install left something at %s: %v", modelPath, err)
	}

	mustRun(t, "", "model", "install", "--config", cfg, "--bundle", first, "--digest", d1)
	out = mustRun(t, "", "model", "install", "--config", cfg, "--bundle", second, "--digest", d2).stdout
	if !strings.Contains(out, "installed model "+d2) || !strings.Contains(out, "kept model "+d1) || strings.Contains(out, "restart") {
		t.Fatalf("second install printed:\n%s", out)
	}
	if got := digest(t, modelPath, "fp32"); got != d2 {
		t.Fatalf("model at %s is %s after the install, want %s", modelPath, got, d2)
	}

	mustRun(t, "", "model", "rollback", "--config", cfg)
	if got := digest(t, modelPath, "fp32"); got != d1 {
		t.Fatalf("model at %s is %s after the rollback, want %s", modelPath, got, d1)
	}

	log := auditLog(t, dataDir)
	want := []users.AuditEntry{
		{Action: "model.rollback", FromHash: d2, ToHash: d1},
		{Action: "model.install", FromHash: d1, ToHash: d2},
		{Action: "model.install", ToHash: d1},
	}
	if len(log) != len(want) {
		t.Fatalf("audit log %+v, want %d entries", log, len(want))
	}
	for i, w := range want {
		if log[i].Action != w.Action || log[i].FromHash != w.FromHash || log[i].ToHash != w.ToHash || log[i].User != "cli" || log[i].At.IsZero() {
			t.Errorf("audit entry %d: %+v, want %+v by cli", i, log[i], w)
		}
	}
	if !strings.Contains(log[1].Detail, second) {
		t.Errorf("install entry %q does not say where the bundle came from (%s)", log[1].Detail, second)
	}
}

// While the appliance runs it holds the users' store: the audit entry goes
// through its local API, and the operator is told to restart it.
func TestModelInstallBesideARunningAppliance(t *testing.T) {
	cfg, dataDir, modelPath := modelConfig(t)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(journal.Options{Dir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	store, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", store)
	ls, err := localapi.Start(dataDir, localapi.Backend{Journal: j, Users: store}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the local API", ls)

	bundleDir := synth(t, 1, "fp32")
	d := digest(t, bundleDir, "fp32")
	out := mustRun(t, "", "model", "install", "--config", cfg, "--bundle", bundleDir, "--digest", d).stdout
	if !strings.Contains(out, "restart it to use this one") {
		t.Fatalf("install beside a running appliance printed:\n%s\nwant the restart note", out)
	}
	if got := digest(t, modelPath, "fp32"); got != d {
		t.Fatalf("model is %s, want %s", got, d)
	}
	log, err := store.AuditLog(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "model.install" || log[0].ToHash != d {
		t.Fatalf("audit log of the running appliance: %+v", log)
	}
}
