package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

func TestUserAddThenReset(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(filepath.Join(dir, "defects.yaml"), []byte("version: 1\nsets:\n  s:\n    good:\n      prompts: [\"good\"]\n      threshold: 0.5\n    defects:\n      - name: bad\n        prompts: [\"bad\"]\n        threshold: 0.5\ncameras:\n  default: s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("line: l1\ndata_dir: data\ndefects: defects.yaml\nmodel:\n  bundle: m\ncameras:\n  - id: cam0\n    source: {kind: synthetic}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) error {
		var out bytes.Buffer
		return userAdd(context.Background(), args, Stdio{In: strings.NewReader(stdin), Out: &out, Err: &out})
	}
	if err := run("first-password\n", "--config", cfg, "--name", "ann", "--role", "engineer"); err != nil {
		t.Fatalf("user add: %v", err)
	}
	if err := run("short\n", "--config", cfg, "--name", "bo"); err == nil {
		t.Fatal("a short password must be refused")
	}
	if err := run("second-password\n", "--config", cfg, "--name", "ann", "--role", "admin"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	s, err := users.OpenStore(filepath.Join(dir, "data", users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", s)
	u, err := s.Authenticate("ann", "second-password")
	if err != nil || u.Role != users.RoleAdmin {
		t.Fatalf("after reset: %+v %v", u, err)
	}
}
