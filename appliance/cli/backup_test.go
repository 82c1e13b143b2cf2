package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

// dataConfig writes a configuration with its defect classes, and a data
// directory holding a user and a golden sample.
func dataConfig(t *testing.T) (cfg, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "linesight.yaml")
	dataDir = filepath.Join(dir, "data")
	for name, content := range map[string]string{
		cfg:                                "line: l1\ndata_dir: data\ndefects: classes.yaml\n",
		filepath.Join(dir, "classes.yaml"): offlineDefects,
		filepath.Join(dataDir, "golden", "a.png"):          "golden sample",
		filepath.Join(dataDir, journal.ImagesDir, "x.jpg"): "journal image",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddUser("ann", users.RoleAdmin, "first-password", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg, dataDir
}

func TestBackupFactoryResetRestore(t *testing.T) {
	cfg, dataDir := dataConfig(t)
	archive := filepath.Join(t.TempDir(), "box.tar.gz")
	out := mustRun(t, "", "backup", "--config", cfg, "--out", archive).stdout
	if !strings.Contains(out, "backed up 4 files") {
		t.Fatalf("backup printed %q, want 4 files (config, classes, users, golden sample)", out)
	}
	if _, err := os.Stat(archive + ".partial"); !os.IsNotExist(err) {
		t.Errorf("backup left its partial file: %v", err)
	}

	// Not confirmed: nothing goes.
	r := run(t, "no\n", "factory-reset", "--config", cfg)
	if r.code != 1 || !strings.Contains(r.stder, "nothing was removed") || !strings.Contains(r.stder, "Type RESET") {
		t.Fatalf("factory reset answered no: exit %d\n%s", r.code, r.stder)
	}
	if testenv.ReadFile(t, filepath.Join(dataDir, "golden", "a.png")) != "golden sample" {
		t.Fatal("an unconfirmed factory reset touched the data")
	}

	mustRun(t, "RESET\n", "factory-reset", "--config", cfg)
	left, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatalf("the data directory itself must stay: %v", err)
	}
	if len(left) != 0 {
		t.Fatalf("%d entries left in the data directory after a factory reset", len(left))
	}
	if testenv.ReadFile(t, cfg) == "" {
		t.Fatal("the factory reset touched the configuration")
	}

	out = mustRun(t, "", "restore", "--config", cfg, archive).stdout
	if !strings.Contains(out, "restored 4 files") {
		t.Errorf("restore printed %q", out)
	}
	if testenv.ReadFile(t, filepath.Join(dataDir, "golden", "a.png")) != "golden sample" {
		t.Error("golden sample not restored")
	}
	if _, err := os.Stat(filepath.Join(dataDir, journal.ImagesDir)); !os.IsNotExist(err) {
		t.Errorf("journal images came back from a backup without them: %v", err)
	}
	store, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", store)
	if _, err := store.Authenticate("ann", "first-password"); err != nil {
		t.Errorf("restored user: %v", err)
	}
	log, err := store.AuditLog(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "backup.restore" || !strings.Contains(log[0].Detail, archive) {
		t.Errorf("audit log after the restore: %+v", log)
	}
}

// While the appliance runs it holds the journal (bbolt's lock): backup,
// restore and factory reset refuse and change nothing.
func TestDataCommandsRefuseWhileTheApplianceRuns(t *testing.T) {
	cfg, dataDir := dataConfig(t)
	archive := filepath.Join(t.TempDir(), "box.tar.gz")
	mustRun(t, "", "backup", "--config", cfg, "--out", archive)
	j, err := journal.Open(journal.Options{Dir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	if err := os.WriteFile(filepath.Join(dataDir, "golden", "a.png"), []byte("newer sample"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"backup", "--config", cfg, "--out", filepath.Join(t.TempDir(), "b.tar.gz")},
		{"restore", "--config", cfg, archive},
		{"factory-reset", "--config", cfg, "--yes"},
	} {
		r := run(t, "", args...)
		if r.code != 1 || !strings.Contains(r.stder, "in use by a running appliance") || !strings.Contains(r.stder, journal.FileName) {
			t.Errorf("linesight %s beside a running appliance: exit %d\n%s", args[0], r.code, r.stder)
		}
	}
	if got := testenv.ReadFile(t, filepath.Join(dataDir, "golden", "a.png")); got != "newer sample" {
		t.Errorf("golden sample is %q after refused commands", got)
	}
	if _, err := os.Stat(filepath.Join(dataDir, users.StoreFile)); err != nil {
		t.Errorf("users' store after refused commands: %v", err)
	}
}
