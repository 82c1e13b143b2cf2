package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/internal/testenv"
)

func TestTrigger(t *testing.T) {
	testenv.RequireORT(t)
	// station waits for triggers; slow is triggered too, but its next frame
	// is 100 s away and it reports a part MISSED only after a minute.
	cfg := runConfig{
		Cameras: `  - id: station
    mode: triggered
    source: {kind: synthetic, width: 64, height: 48, fps: 20, seed: 1}
  - id: slow
    mode: triggered
    trigger_timeout: 1m
    source: {kind: synthetic, width: 64, height: 48, fps: 0.01, seed: 2}`,
		Rest: "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)
	mustRun(t, "operator-password\n", "user", "add", "--config", cfg, "--name", "op", "--role", "operator")
	a := startAppliance(t, cfg)
	defer func() {
		if code := a.stop(t); code != 0 {
			t.Errorf("run exited %d:\n%s", code, a.Log.String())
		}
	}()

	t.Run("no password", func(t *testing.T) {
		t.Setenv(passwordEnv, "")
		r := run(t, "", "trigger", "--url", a.URL, "--camera", "station", "--part-id", "P-0", "--user", "op")
		if r.code != 1 || !strings.Contains(r.stder, "no password: set $LINESIGHT_PASSWORD or pass --password-file FILE") {
			t.Errorf("exit %d:\n%s", r.code, r.stder)
		}
		if strings.Contains(a.Log.String(), "failed login") {
			t.Errorf("a missing password reached the appliance as a failed login:\n%s", a.Log.String())
		}
	})

	t.Run("wait prints the verdict of the part", func(t *testing.T) {
		t.Setenv(passwordEnv, "operator-password")
		r := run(t, "", "trigger", "--url", a.URL, "--camera", "station", "--part-id", "P-1", "--user", "op", "--wait")
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.stder)
		}
		var v struct {
			Camera  string `json:"camera"`
			PartID  string `json:"part_id"`
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("stdout is not one verdict: %v\n%s", err, r.stdout)
		}
		if v.Camera != "station" || v.PartID != "P-1" || !slices.Contains([]string{"PASS", "FAIL", "UNCERTAIN"}, v.Outcome) {
			t.Errorf("verdict %+v, want an inspection of P-1 on station", v)
		}
	})

	// With the PLC's time the verdict is of the frame nearest to it, and
	// says when that was against the trigger's time.
	t.Run("the PLC's time", func(t *testing.T) {
		t.Setenv(passwordEnv, "operator-password")
		at := time.Now().Add(-100 * time.Millisecond).UTC().Truncate(time.Millisecond)
		r := run(t, "", "trigger", "--url", a.URL, "--camera", "station", "--part-id", "P-at", "--user", "op", "--wait",
			"--at", at.Format("2006-01-02T15:04:05.000Z07:00"))
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.stder)
		}
		var v struct {
			PartID      string        `json:"part_id"`
			Outcome     string        `json:"outcome"`
			TriggeredAt time.Time     `json:"triggered_at"`
			FrameOffset time.Duration `json:"frame_offset_ns"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("stdout is not one verdict: %v\n%s", err, r.stdout)
		}
		// 20 frames a second: the nearest frame is within half a period,
		// and always within the default 200 ms window.
		if v.PartID != "P-at" || v.Outcome == "MISSED" || !v.TriggeredAt.Equal(at) || v.FrameOffset < -200*time.Millisecond || v.FrameOffset > 200*time.Millisecond {
			t.Errorf("verdict %+v for a part at %v", v, at)
		}
		r = run(t, "", "trigger", "--url", a.URL, "--camera", "station", "--part-id", "P-bad", "--user", "op", "--at", "yesterday")
		if r.code != 1 || !strings.Contains(r.stder, "--at: invalid: at \"yesterday\" is not an RFC 3339 time") {
			t.Errorf("a bad --at: exit %d\n%s", r.code, r.stder)
		}
	})

	t.Run("password file", func(t *testing.T) {
		t.Setenv(passwordEnv, "")
		file := filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(file, []byte("operator-password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, "", "trigger", "--url", a.URL, "--camera", "station", "--part-id", "P-2", "--user", "op", "--password-file", file)
		if r.code != 0 || !strings.Contains(r.stdout, `"part_id":"P-2"`) {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stder)
		}
	})

	t.Run("wait gives up at the timeout", func(t *testing.T) {
		t.Setenv(passwordEnv, "operator-password")
		r := run(t, "", "trigger", "--url", a.URL, "--camera", "slow", "--part-id", "P-3", "--user", "op", "--wait", "--timeout", "2s")
		if r.code != 1 || !strings.Contains(r.stder, "no verdict for part P-3 on camera slow within 2s") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stder)
		}
	})
}
