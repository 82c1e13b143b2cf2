package systemd

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/firmware/fwtest"
	"github.com/linesight/linesight/internal/testenv"
)

var units = []string{"linesight.service", "linesight-firstboot.service"}

// unitRoot installs the units in a root of their own, with systemd's units
// and a stand-in for the binary they start (the package test verifies them
// with the real one).
func unitRoot(t *testing.T, edit func(name, text string) string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "usr/lib/systemd/system")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if edit != nil {
			text = edit(u, text)
		}
		if err := os.WriteFile(filepath.Join(dir, u), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fwtest.AddSystemdUnits(t, root)
	bin := filepath.Join(root, "usr/bin/linesight")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestUnitsVerify(t *testing.T) {
	root := unitRoot(t, nil)
	fwtest.Verify(t, root, units...)
	// The sandbox, as systemd scores it: 1.6 today ("OK" is under 4.0).
	fwtest.Exposure(t, root, "linesight.service", 20)
}

// recorder is a testing.TB that keeps what it is told to report.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// The verification fails on what systemd only warns about and ignores.
func TestVerifyCatchesWhatSystemdIgnores(t *testing.T) {
	for _, c := range []struct{ name, from, to string }{
		{"bad value", "WatchdogSec=30s", "WatchdogSec=half a minute"},
		{"unknown key", "NoNewPrivileges=yes", "NoNewPrivilege=yes"},
		{"missing binary", "ExecStart=/usr/bin/linesight run", "ExecStart=/usr/bin/linesightd run"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := unitRoot(t, func(name, text string) string {
				if name != "linesight.service" {
					return text
				}
				if !strings.Contains(text, c.from) {
					t.Fatalf("linesight.service has no %q", c.from)
				}
				return strings.Replace(text, c.from, c.to, 1)
			})
			r := &recorder{TB: t}
			fwtest.Verify(r, root, "linesight.service")
			if len(r.errors) == 0 {
				t.Errorf("a unit with %q verified", c.to)
			}
		})
	}
}

// directives reads a unit's settings, each key's values in order.
func directives(t *testing.T, file string) map[string][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, file, f)
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not a setting: %q", file, line)
		}
		out[k] = append(out[k], v)
	}
	return out
}

// What docs/deploy.md promises of the service.
func TestServiceUnitPromises(t *testing.T) {
	d := directives(t, "linesight.service")
	want := map[string]string{
		"Type": "notify", "NotifyAccess": "main", "WatchdogSec": "30s", "Restart": "on-failure",
		"User": "linesight", "SupplementaryGroups": "video", "NoNewPrivileges": "yes",
		"ProtectSystem": "strict", "ReadWritePaths": "/var/lib/linesight", "PrivateTmp": "yes",
		"ProtectHome": "yes", "DevicePolicy": "closed", "DeviceAllow": "char-video4linux rw",
		"CapabilityBoundingSet": "", "AmbientCapabilities": "",
	}
	for k, v := range want {
		if got := d[k]; !slices.Equal(got, []string{v}) {
			t.Errorf("%s=%q, want exactly %s=%s", k, got, k, v)
		}
	}
	if got := d["ExecStart"]; len(got) != 1 || !strings.HasPrefix(got[0], "/usr/bin/linesight run --config /etc/linesight/") {
		t.Errorf("ExecStart=%q, want linesight run on /etc/linesight", got)
	}
}
