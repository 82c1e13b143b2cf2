// Package fwtest holds what the firmware tests share: finding the system
// tools they drive, and verifying systemd units with the real
// systemd-analyze against a root of their own.
package fwtest

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Tool finds a system tool. Without it the test is skipped, or fails when
// LINESIGHT_REQUIRE_REFERENCE=1 (CI), as the other tests' peers do.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	why := name + " is not installed (Debian package " + pkg + "; make setup installs it)"
	if os.Getenv("LINESIGHT_REQUIRE_REFERENCE") == "1" {
		t.Fatal(why + ", and LINESIGHT_REQUIRE_REFERENCE=1")
	}
	t.Skip(why)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// hostUnits is where Debian keeps systemd's own units (sysinit.target and
// the rest a service's default dependencies name).
var hostUnits = []string{"/usr/lib/systemd/system", "/lib/systemd/system"}

// AddSystemdUnits copies systemd's own units into root, beside those
// already there, so that systemd-analyze verify --root=root can resolve a
// unit's dependencies as on a real system.
func AddSystemdUnits(t testing.TB, root string) {
	t.Helper()
	var src string
	for _, d := range hostUnits {
		if _, err := os.Stat(filepath.Join(d, "sysinit.target")); err == nil {
			src = d
			break
		}
	}
	if src == "" {
		t.Fatal("systemd's units (sysinit.target) not found in /usr/lib/systemd/system or /lib/systemd/system")
	}
	dst := filepath.Join(root, "usr/lib/systemd/system")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if _, err := os.Lstat(target); err == nil {
			return nil // the root's own unit wins
		}
		if d.Type()&fs.ModeSymlink != 0 {
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy systemd's units into %s: %v", root, err)
	}
}

// Verify runs systemd-analyze verify on units installed in root; any
// complaint, even one systemd only warns about (an unknown key, a bad
// value), fails the test.
func Verify(t testing.TB, root string, units ...string) {
	t.Helper()
	analyze := Tool(t, "systemd-analyze", "systemd")
	var out bytes.Buffer
	cmd := exec.Command(analyze, append([]string{"verify", "--root=" + root}, units...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil || out.Len() > 0 {
		t.Errorf("systemd-analyze verify %v: %v\n%s", units, err, out.String())
	}
}

// Exposure checks systemd-analyze security's exposure score of an
// installed service (0 sandboxed .. 10 exposed) is at most max tenths.
func Exposure(t testing.TB, root, unit string, max int) {
	t.Helper()
	analyze := Tool(t, "systemd-analyze", "systemd")
	out, err := exec.Command(analyze, "security", "--offline=yes", "--no-pager", "--root="+root,
		"--threshold="+strconv.Itoa(max), unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security %s over %d.%d: %v\n%s", unit, max/10, max%10, err, out)
	}
}
