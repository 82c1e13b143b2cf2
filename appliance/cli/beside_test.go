package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// call makes a request to the dashboard's API with Basic credentials (user
// "" for none) and an optional session cookie, and returns the status.
func (a *process) call(t *testing.T, method, path, user, password, cookie string, body any) int {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		noErr(t, err)
	}
	req, err := http.NewRequest(method, a.URL+"/api/v1"+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "linesight_session", Value: cookie})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	noErr(t, resp.Body.Close())
	return resp.StatusCode
}

// getJSON reads an API resource with Basic credentials.
func (a *process) getJSON(t *testing.T, path, user, password string, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.URL+"/api/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the response body", resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// login opens a dashboard session and returns its cookie.
func (a *process) login(t *testing.T, user, password string) string {
	t.Helper()
	raw, err := json.Marshal(map[string]string{"name": user, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(a.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	noErr(t, resp.Body.Close())
	for _, c := range resp.Cookies() {
		if c.Name == "linesight_session" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("login as %s: %s, no session cookie", user, resp.Status)
	return ""
}

// TestCommandsBesideARunningAppliance runs the commands that use the data
// directory while `linesight run` holds its files: the text-embedding cache
// (inspect, eval), the journal (journal stats, export) and the users' store
// (user add). Each works and gives what it gives with the appliance stopped.
func TestCommandsBesideARunningAppliance(t *testing.T) {
	testenv.RequireORT(t)
	model := synth(t, 11, "fp32")
	// One triggered camera: the journal holds exactly the parts triggered.
	cfg := runConfig{
		Model: model,
		Cameras: `  - id: cam0
    mode: triggered
    trigger_timeout: 10s
    source: {kind: synthetic, width: 64, height: 48, fps: 20, seed: 1}`,
		Rest: "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	// Before the start the store is free: user add opens it itself.
	mustRun(t, "admin-password-1\n", "user", "add", "--config", cfg, "--name", "admin", "--role", "admin")

	app := startAppliance(t, cfg)
	if fi, err := os.Lstat(localapi.SocketPath(dataDir)); err != nil {
		t.Errorf("local API socket: %v", err)
	} else if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("local API socket: mode %v, want a socket of mode 0600", fi.Mode())
	}

	// Three parts; their verdicts (or MISSED) go to the journal. The
	// dashboard, which reads the appliance's own journal, says when.
	parts := []string{"P-1", "P-2", "P-3"}
	for _, p := range parts {
		if code := app.call(t, http.MethodPost, "/cameras/cam0/trigger", "admin", "admin-password-1", "", map[string]string{"part_id": p}); code != http.StatusAccepted {
			t.Fatalf("trigger %s: %d", p, code)
		}
	}
	testenv.WaitFor(t, "the three parts in the journal", func() bool {
		var page struct{ Records []json.RawMessage }
		app.getJSON(t, "/history?limit=10", "admin", "admin-password-1", &page)
		return len(page.Records) == len(parts)
	})

	// Fixed bounds, so the stats of the running and of the stopped
	// appliance can be compared whole.
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	statsArgs := []string{"journal", "stats", "--config", cfg, "--json", "--from", from, "--to", to}
	var liveStats, liveJSONL string
	t.Run("journal stats", func(t *testing.T) {
		r := mustRun(t, "", statsArgs...)
		var c journal.Counters
		noErr(t, json.Unmarshal([]byte(r.stdout), &c))
		if c.Total != 3 || c.ByCamera["cam0"].Total != 3 || !strings.Contains(r.stder, "reading its journal through it") {
			t.Errorf("stats of the running appliance: %+v\n%s", c, r.stder)
		}
		liveStats = r.stdout
	})

	t.Run("journal export", func(t *testing.T) {
		liveJSONL = mustRun(t, "", "journal", "export", "--config", cfg, "--format", "jsonl").stdout
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(liveJSONL), "\n") {
			var rec journal.Record
			noErr(t, json.Unmarshal([]byte(l), &rec))
			if rec.Camera != "cam0" || rec.Outcome == "" || rec.ID == 0 {
				t.Errorf("exported record %s", l)
			}
			got = append(got, rec.PartID)
		}
		if !slices.Equal(got, parts) {
			t.Errorf("exported parts %v, want %v", got, parts)
		}
		csvOut := filepath.Join(t.TempDir(), "shift.csv")
		mustRun(t, "", "journal", "export", "--config", cfg, "--format", "csv", "--out", csvOut)
		f, err := os.Open(csvOut)
		noErr(t, err)
		rows, err := csv.NewReader(f).ReadAll()
		noErr(t, f.Close())
		noErr(t, err)
		if len(rows) != 1+len(parts) || rows[3][3] != "P-3" {
			t.Errorf("CSV export: %v", rows)
		}
	})

	// A label given on the dashboard is in the running appliance's journal:
	// eval --journal reads it through the appliance.
	var liveEval string
	t.Run("eval --journal", func(t *testing.T) {
		type record struct {
			ID      uint64 `json:"id"`
			Outcome string `json:"outcome"`
		}
		var page struct{ Records []record }
		app.getJSON(t, "/history?order=oldest", "admin", "admin-password-1", &page)
		i := slices.IndexFunc(page.Records, func(r record) bool { return r.Outcome != "MISSED" })
		if i < 0 {
			t.Fatalf("every trigger was MISSED, nothing to label: %+v", page.Records)
		}
		id := page.Records[i].ID
		if code := app.call(t, http.MethodPut, "/records/"+strconv.FormatUint(id, 10)+"/label", "admin", "admin-password-1", "",
			map[string]any{"correct": false, "class": "anomaly"}); code != http.StatusOK {
			t.Fatalf("label record %d: %d", id, code)
		}
		r := mustRun(t, "", "eval", "--journal", filepath.Join(dataDir, journal.FileName))
		if !strings.Contains(r.stder, "reading its journal through it") || !strings.Contains(r.stdout, ": 1 labelled records") ||
			!strings.Contains(r.stdout, "anomaly") {
			t.Errorf("eval --journal beside the appliance:\n%s\n%s", r.stdout, r.stder)
		}
		liveEval = r.stdout
		// The export compared after the stop carries the label too.
		liveJSONL = mustRun(t, "", "journal", "export", "--config", cfg, "--format", "jsonl").stdout
	})

	// A new operator can use the running dashboard at once; a reset
	// password works at once, the old one no longer, and the sessions
	// opened with it end, as when the dashboard resets it.
	t.Run("user add", func(t *testing.T) {
		session := app.login(t, "admin", "admin-password-1")
		if code := app.call(t, http.MethodGet, "/auth/me", "", "", session, nil); code != http.StatusOK {
			t.Fatalf("admin session: %d", code)
		}
		r := mustRun(t, "operator-password\n", "user", "add", "--config", cfg, "--name", "op", "--role", "operator")
		if r.stdout != "user op added with role operator\n" {
			t.Errorf("user add: %q", r.stdout)
		}
		if code := app.call(t, http.MethodGet, "/history", "op", "operator-password", "", nil); code != http.StatusOK {
			t.Errorf("the new operator on the running dashboard: %d", code)
		}
		r = mustRun(t, "admin-password-2\n", "user", "add", "--config", cfg, "--name", "admin", "--role", "admin")
		if r.stdout != "user admin updated with role admin\n" || !strings.Contains(r.stder, "sessions ended") {
			t.Errorf("password reset: %q %q", r.stdout, r.stder)
		}
		for _, c := range []struct {
			what                   string
			user, password, cookie string
			want                   int
		}{
			{"new password", "admin", "admin-password-2", "", http.StatusOK},
			{"old password", "admin", "admin-password-1", "", http.StatusUnauthorized},
			{"session opened before the reset", "", "", session, http.StatusUnauthorized},
		} {
			if code := app.call(t, http.MethodGet, "/auth/me", c.user, c.password, c.cookie, nil); code != c.want {
				t.Errorf("%s: %d, want %d", c.what, code, c.want)
			}
		}
		// Bad input is refused by the running appliance with the store's reason.
		if r := run(t, "admin-password-3\n", "user", "add", "--config", cfg, "--name", "no spaces"); r.code != 1 || !strings.Contains(r.stder, users.ErrBadUserName.Error()) {
			t.Errorf("bad name through the appliance: exit %d, %s", r.code, r.stder)
		}
	})

	// inspect and eval: the appliance holds the text-embedding cache; they
	// encode their prompts in memory and say so.
	ds := t.TempDir()
	noErr(t, synthetic.WriteDataset(ds, 1, 3))
	t.Run("inspect", func(t *testing.T) {
		r := mustRun(t, "", "inspect", "--config", cfg, filepath.Join(ds, synthetic.Washer, "test"))
		lines := parseLines(t, r.stdout)
		if len(lines) != 1+len(synthetic.DefectKinds) || !strings.Contains(r.stder, "in use by a running appliance") {
			t.Errorf("inspect: %d lines\n%s", len(lines), r.stder)
		}
		for _, v := range lines {
			checkVerdict(t, v, digest(t, model, "fp32"))
		}
	})
	t.Run("eval", func(t *testing.T) {
		r := mustRun(t, "", "eval", "--config", cfg, "--dataset", filepath.Join(ds, synthetic.Washer))
		if !strings.Contains(r.stdout, "== "+synthetic.Washer+" ==") || !strings.Contains(r.stdout, "== all ==") ||
			!strings.Contains(r.stder, "in use by a running appliance") {
			t.Errorf("eval:\n%s\n%s", r.stdout, r.stder)
		}
	})

	// Stopped, the appliance removes its socket, and the commands read the
	// files themselves: the same records, the same counts, the users kept.
	if code := app.stop(t); code != 0 {
		t.Fatalf("run exited %d", code)
	}
	if _, err := os.Lstat(localapi.SocketPath(dataDir)); !os.IsNotExist(err) {
		t.Errorf("socket left after a clean stop: %v", err)
	}
	stopped := mustRun(t, "", statsArgs...)
	if strings.Contains(stopped.stder, "through it") || stopped.stdout != liveStats {
		t.Errorf("stats from the file:\n%s\nfrom the running appliance:\n%s", stopped.stdout, liveStats)
	}
	if liveEval != "" {
		if fileEval := mustRun(t, "", "eval", "--journal", dataDir).stdout; afterLine(fileEval) != afterLine(liveEval) {
			t.Errorf("eval --journal from the file:\n%s\nfrom the running appliance:\n%s", fileEval, liveEval)
		}
	}
	if fileJSONL := mustRun(t, "", "journal", "export", "--config", cfg, "--format", "jsonl").stdout; fileJSONL != liveJSONL {
		t.Errorf("export from the file:\n%s\nfrom the running appliance:\n%s", fileJSONL, liveJSONL)
	}
	s, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	noErr(t, err)
	defer testenv.Close(t, "the user store", s)
	if u, err := s.Authenticate("op", "operator-password"); err != nil || u.Role != users.RoleOperator {
		t.Errorf("op after the stop: %+v %v", u, err)
	}
	if _, err := s.Authenticate("admin", "admin-password-2"); err != nil {
		t.Errorf("admin's new password after the stop: %v", err)
	}
	audit, err := s.AuditLog(10)
	noErr(t, err)
	for _, want := range []users.AuditEntry{{User: "cli", Action: "user.add", Detail: "op (operator)"}, {User: "cli", Action: "user.update", Detail: "admin (admin)"}} {
		if !slices.ContainsFunc(audit, func(e users.AuditEntry) bool {
			return e.User == want.User && e.Action == want.Action && e.Detail == want.Detail
		}) {
			t.Errorf("audit log lacks %+v: %+v", want, audit)
		}
	}
}

// A socket left by an appliance that was killed does not stand in the way:
// the commands read the files, and the next start replaces it.
func TestStaleSocketIsIgnored(t *testing.T) {
	cfg := journalFixture(t)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: localapi.SocketPath(dataDir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	noErr(t, ln.Close())

	r := mustRun(t, "", "journal", "stats", "--config", cfg)
	if !strings.Contains(r.stdout, "total 4  yield 25.00%") {
		t.Errorf("stats beside a stale socket:\n%s", r.stdout)
	}
	mustRun(t, "a-password\n", "user", "add", "--config", cfg, "--name", "ann")
}

// With the dashboard off the appliance does not hold the users' store, so
// user add writes it itself while the appliance runs.
func TestUserAddBesideAnApplianceWithoutDashboard(t *testing.T) {
	testenv.RequireORT(t)
	cfg, _ := offlineConfig(t)
	raw, err := os.ReadFile(cfg)
	noErr(t, err)
	noErr(t, os.WriteFile(cfg, append(raw, "web: {listen: \"\"}\n"...), 0o644))
	app := launchAppliance(t, cfg)
	app.waitLog(t, "the appliance to be ready", `msg="appliance ready"`)
	r := mustRun(t, "a-password\n", "user", "add", "--config", cfg, "--name", "ann", "--role", "engineer")
	if r.stdout != "user ann added with role engineer\n" || strings.Contains(r.stder, "through it") {
		t.Errorf("user add: %q %q", r.stdout, r.stder)
	}
	if code := app.stop(t); code != 0 {
		t.Fatalf("run exited %d", code)
	}
	s, err := users.OpenStore(filepath.Join(filepath.Dir(cfg), "data", users.StoreFile))
	noErr(t, err)
	defer testenv.Close(t, "the user store", s)
	if u, err := s.Authenticate("ann", "a-password"); err != nil || u.Role != users.RoleEngineer {
		t.Errorf("ann: %+v %v", u, err)
	}
}

// afterLine is s without its first line.
func afterLine(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}
