package web

import (
	"encoding/json"
	"errors"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// firstAdmin is a server whose only user is the generated first admin.
func firstAdmin(t *testing.T) (h *harness, password, file string) {
	t.Helper()
	dir := t.TempDir()
	store, err := users.OpenStore(filepath.Join(dir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the user store", store) })
	password, file, err = users.PrepareFirstAdmin(store, dir, time.Now())
	if err != nil || password == "" || file != filepath.Join(dir, users.InitialPasswordFile) {
		t.Fatalf("first admin: %q %q %v", password, file, err)
	}
	h = newHarness(t, func(o *Options) { o.Store, o.InitialPasswordFile = store, file })
	return h, password, file
}

func TestFirstAdminMustChangeItsPassword(t *testing.T) {
	h, password, file := firstAdmin(t)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600 (owner only)", file, st.Mode().Perm())
	}
	if data := testenv.ReadFile(t, file); data != password+"\n" {
		t.Errorf("%s holds %q, want the password", file, data)
	}

	c := h.anon()
	body := c.expect("POST", "/api/v1/auth/login", `{"name":"admin","password":"`+password+`"}`, 200)
	var login struct {
		CSRF       string `json:"csrf_token"`
		MustChange bool   `json:"must_change_password"`
	}
	if err := json.Unmarshal([]byte(body), &login); err != nil {
		t.Fatal(err)
	}
	if !login.MustChange {
		t.Errorf("login of the first admin: %s, want must_change_password true", body)
	}
	c.csrf = login.CSRF
	if me := c.expect("GET", "/api/v1/auth/me", "", 200); !strings.Contains(me, `"must_change_password":true`) {
		t.Errorf("me: %s", me)
	}
	// Everything else is refused with what to do, for a session and for
	// Basic credentials alike.
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/status", ""}, {"GET", "/api/v1/history", ""}, {"GET", "/api/v1/users", ""},
		{"POST", "/api/v1/users", `{"name":"x","role":"admin","password":"12345678"}`},
		{"POST", "/api/v1/cameras/cam0/trigger", `{"part_id":"P-1"}`},
	} {
		resp, body := c.do(r.method, r.path, r.body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "change your password first") {
			t.Errorf("%s %s before the change: %d %s", r.method, r.path, resp.StatusCode, body)
		}
	}
	req, err := http.NewRequest("GET", h.ts.URL+"/api/v1/history", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	must(t, resp.Body.Close())
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Basic credentials before the change: %d, want 403", resp.StatusCode)
	}
	if len(h.app.triggers) != 0 {
		t.Errorf("triggers %v went through", h.app.triggers)
	}
	// Logging out is allowed.
	other := h.anon()
	if err := json.Unmarshal([]byte(other.expect("POST", "/api/v1/auth/login", `{"name":"admin","password":"`+password+`"}`, 200)), &login); err != nil {
		t.Fatal(err)
	}
	other.csrf = login.CSRF
	other.expect("POST", "/api/v1/auth/logout", "", 204)

	c.expect("POST", "/api/v1/auth/password", `{"old":"`+password+`","new":"a-new-admin-password"}`, 204)
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there after the change: %v", file, err)
	}
	c = h.anon()
	body = c.expect("POST", "/api/v1/auth/login", `{"name":"admin","password":"a-new-admin-password"}`, 200)
	if err := json.Unmarshal([]byte(body), &login); err != nil {
		t.Fatal(err)
	}
	if login.MustChange {
		t.Errorf("after the change: %s", body)
	}
	c.csrf = login.CSRF
	c.expect("GET", "/api/v1/history", "", 200)
}

// A reset from the command line (`linesight user add`) also clears the
// flag; the next start removes the stale file.
func TestFirstAdminFileGoesAfterAReset(t *testing.T) {
	dir := t.TempDir()
	store, err := users.OpenStore(filepath.Join(dir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", store)
	_, file, err := users.PrepareFirstAdmin(store, dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.PrepareFirstAdmin(store, dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("a restart before the change removed the file: %v", err)
	}
	if _, err := store.UpdateUser("admin", "", "reset-by-the-cli", time.Now()); err != nil {
		t.Fatal(err)
	}
	if u, err := store.User("admin"); err != nil {
		t.Fatal(err)
	} else if u.MustChangePassword {
		t.Error("a new password did not clear must-change")
	}
	if pw, _, err := users.PrepareFirstAdmin(store, dir, time.Now()); err != nil || pw != "" {
		t.Fatalf("restart: %q %v", pw, err)
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s survived the reset and a restart: %v", file, err)
	}
}
