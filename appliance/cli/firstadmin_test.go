package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

var boxedPassword = regexp.MustCompile(`\|\s+password:\s+(\S+)\s+\|`)

// The first start shows the generated admin password once, framed on
// stderr, and keeps it in an owner-only file; log lines never carry it.
func TestFirstStartShowsTheAdminPasswordOnce(t *testing.T) {
	testenv.RequireORT(t)
	cfg := runConfig{
		Cameras: "  - {id: cam0, source: {kind: synthetic, width: 64, height: 48, fps: 5, seed: 1}}\n",
		Rest:    "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)
	a := startAppliance(t, cfg)
	if code := a.stop(t); code != 0 {
		t.Errorf("run exited %d:\n%s", code, a.Log.String())
	}
	out := a.Log.String()
	m := boxedPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no framed password on stderr:\n%s", out)
	}
	password := m[1]
	if !strings.Contains(out, "+-----") || !strings.Contains(out, "|      user:      admin") {
		t.Errorf("the password is not in a box:\n%s", out)
	}
	for line := range strings.Lines(out) {
		if strings.Contains(line, "level=") && strings.Contains(line, password) {
			t.Errorf("a log line carries the password: %s", line)
		}
	}
	file := filepath.Join(a.Dir, "data", users.InitialPasswordFile)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatalf("no password file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, st.Mode().Perm())
	}
	if data, err := os.ReadFile(file); err != nil {
		t.Fatal(err)
	} else if string(data) != password+"\n" {
		t.Errorf("%s holds %q, want the boxed password", file, data)
	}

	again := startAppliance(t, cfg)
	if code := again.stop(t); code != 0 {
		t.Errorf("run exited %d:\n%s", code, again.Log.String())
	}
	if strings.Contains(again.Log.String(), password) || boxedPassword.MatchString(again.Log.String()) {
		t.Errorf("the second start showed a password again:\n%s", again.Log.String())
	}
}
