package web

import (
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLoginSetsHardenedCookiesAndMe(t *testing.T) {
	h := newHarness(t)
	c := h.login("erik")
	ck := c.jar[sessionCookie]
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", ck)
	}
	if c.jar[csrfCookie] == nil || c.jar[csrfCookie].Value != c.csrf || c.csrf == "" {
		t.Fatal("the CSRF cookie must carry the token login returned")
	}
	if me := c.expect("GET", "/api/v1/auth/me", "", 200); !strings.Contains(me, `"role":"engineer"`) {
		t.Fatalf("me: %s", me)
	}
	c.expect("POST", "/api/v1/auth/logout", "", 204)
	c.expect("GET", "/api/v1/auth/me", "", 401)
}

func TestUnauthenticatedAndWrongRole(t *testing.T) {
	h := newHarness(t)
	anon := h.anon()
	for _, p := range []string{"/api/v1/status", "/api/v1/history", "/api/v1/classes", "/api/v1/users", "/api/v1/verdicts/stream"} {
		anon.expect("GET", p, "", 401)
	}
	op := h.login("olga")
	op.expect("PUT", "/api/v1/classes", `{"yaml":"x"}`, 403)
	op.expect("GET", "/api/v1/users", "", 403)
	eng := h.login("erik")
	eng.expect("GET", "/api/v1/users", "", 403)
	h.login("ada").expect("GET", "/api/v1/users", "", 200)
}

func TestCSRFTokenRequiredForSessionWrites(t *testing.T) {
	h := newHarness(t)
	c := h.login("olga")
	token := c.csrf
	c.csrf = ""
	if resp, body := c.do("POST", "/api/v1/cameras/cam0/trigger", `{"part_id":"P-1"}`); resp.StatusCode != 403 || !strings.Contains(body, "CSRF") {
		t.Fatalf("no token: %d %s", resp.StatusCode, body)
	}
	c.csrf = "wrong"
	c.expect("POST", "/api/v1/cameras/cam0/trigger", `{"part_id":"P-1"}`, 403)
	c.csrf = token
	c.expect("POST", "/api/v1/cameras/cam0/trigger", `{"part_id":"P-1"}`, 202)
	if len(h.app.triggers) != 1 {
		t.Fatalf("triggers %v: only the request with the token may trigger", h.app.triggers)
	}
}

func TestBasicAuthForScripts(t *testing.T) {
	h := newHarness(t)
	req, err := http.NewRequest("POST", h.ts.URL+"/api/v1/cameras/cam0/trigger", strings.NewReader(`{"part_id":"P-2"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("olga", "olga-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	must(t, resp.Body.Close())
	if resp.StatusCode != 202 {
		t.Fatalf("basic trigger: %d", resp.StatusCode)
	}
	req, err = http.NewRequest("GET", h.ts.URL+"/api/v1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("olga", "nope-nope")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	must(t, resp.Body.Close())
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("wrong basic password: %d, challenge %q (browsers must never be prompted)", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestLoginRateLimitedPerClient(t *testing.T) {
	h := newHarness(t) // LoginLimit 3
	c := h.anon()
	for i := 0; i < 3; i++ {
		c.expect("POST", "/api/v1/auth/login", `{"name":"olga","password":"guess-guess"}`, 401)
	}
	resp, _ := c.do("POST", "/api/v1/auth/login", `{"name":"olga","password":"olga-password"}`)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures even the right password gets %d, want 429 with Retry-After", resp.StatusCode)
	}
}

func TestLoginNeedsJSON(t *testing.T) {
	h := newHarness(t)
	req, err := http.NewRequest("POST", h.ts.URL+"/api/v1/auth/login", strings.NewReader("name=olga&password=olga-password"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	must(t, resp.Body.Close())
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form login: %d, want 415 (a cross-site form must not log in)", resp.StatusCode)
	}
}

func TestKioskServesLiveViewsReadOnly(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Kiosk = true })
	anon := h.anon()
	anon.expect("GET", "/api/v1/status", "", 200)
	anon.expect("GET", "/api/v1/alarms", "", 200)
	if me := anon.expect("GET", "/api/v1/auth/me", "", 200); !strings.Contains(me, `"kiosk":true`) {
		t.Fatalf("me: %s", me)
	}
	anon.expect("GET", "/api/v1/history", "", 401)
	anon.expect("POST", "/api/v1/cameras/cam0/trigger", `{"part_id":"P-1"}`, 401)
	anon.expect("POST", "/api/v1/alarms/x/ack", "", 401)
}

func TestUserAdministration(t *testing.T) {
	h := newHarness(t)
	admin := h.login("ada")
	admin.expect("POST", "/api/v1/users", `{"name":"bob","role":"operator","password":"bob-password"}`, 201)
	admin.expect("POST", "/api/v1/users", `{"name":"bob","role":"operator","password":"bob-password"}`, 409)
	admin.expect("POST", "/api/v1/users", `{"name":"eve","role":"king","password":"eve-password"}`, 400)
	admin.expect("POST", "/api/v1/users", `{"name":"eve","role":"operator","password":"short"}`, 400)
	bob := h.login("bob")
	bob.expect("GET", "/api/v1/status", "", 200)
	admin.expect("PUT", "/api/v1/users/bob", `{"role":"engineer"}`, 200)
	bob.expect("GET", "/api/v1/status", "", 401) // a role change ends the sessions
	admin.expect("PUT", "/api/v1/users/nobody", `{"role":"engineer"}`, 404)
	admin.expect("DELETE", "/api/v1/users/ada", "", 409) // the last admin
	admin.expect("DELETE", "/api/v1/users/bob", "", 204)
	if a := admin.expect("GET", "/api/v1/audit", "", 200); !strings.Contains(a, `"user.delete"`) || !strings.Contains(a, `"user":"ada"`) {
		t.Fatalf("audit: %s", a)
	}
	users, err := h.store.Users()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Hash != nil {
			t.Fatal("hashes must not leave the store")
		}
	}
}

func TestChangeOwnPassword(t *testing.T) {
	h := newHarness(t)
	c := h.login("olga")
	c.expect("POST", "/api/v1/auth/password", `{"old":"wrong-wrong","new":"new-password"}`, 403)
	c.expect("POST", "/api/v1/auth/password", `{"old":"olga-password","new":"new-password"}`, 204)
	if _, err := h.store.Authenticate("olga", "new-password"); err != nil {
		t.Fatal("the new password must work")
	}
}

func TestInitialAdminOnce(t *testing.T) {
	s, err := users.OpenStore(t.TempDir() + "/web.db")
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", s)
	pw, err := s.EnsureAdmin(time.Now())
	if err != nil || pw == "" {
		t.Fatalf("first start: %q %v", pw, err)
	}
	if u, err := s.Authenticate("admin", pw); err != nil || u.Role != users.RoleAdmin {
		t.Fatalf("initial admin: %+v %v", u, err)
	}
	if pw2, err := s.EnsureAdmin(time.Now()); err != nil {
		t.Fatalf("second start: %v", err)
	} else if pw2 != "" {
		t.Fatal("a second start must not create another admin")
	}
}
