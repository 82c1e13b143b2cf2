package web

import (
	"context"
	"encoding/json"
	"github.com/linesight/linesight/appliance/trigger"
	"github.com/linesight/linesight/internal/testenv"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

func init() { users.BcryptCost = bcrypt.MinCost } // keep tests fast

// fakeApp is the appliance as the server sees it.
type fakeApp struct {
	mu       sync.Mutex
	sys      System
	triggers []string
	refuse   error // when set, Trigger refuses with it
}

func (f *fakeApp) Status() any   { return map[string]string{"state": f.State()} }
func (f *fakeApp) State() string { return f.System().State }
func (f *fakeApp) Trigger(camera string, t trigger.Trigger, _ time.Time) error {
	partID := t.PartID
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.triggers = append(f.triggers, camera+"/"+partID)
	return nil
}
func (f *fakeApp) System() System { f.mu.Lock(); defer f.mu.Unlock(); return f.sys }
func (f *fakeApp) setSystem(s System) {
	f.mu.Lock()
	f.sys = s
	f.mu.Unlock()
}
func (f *fakeApp) WriteMetrics(p *Prom) {
	p.Counter("linesight_frames_total", "Frames captured.", Labels{"camera": "cam0"}, 7)
}

// hashEncoder embeds a prompt as a fixed pseudo-random unit vector.
type hashEncoder struct{}

const dim = 16

func embed(text string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	seed := h.Sum64()
	v := make([]float32, dim)
	var n float64
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = float32(int64(seed>>33)%1000) / 1000
		n += float64(v[i] * v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

func (hashEncoder) EmbedTexts(texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = embed(t)
	}
	return out, nil
}

// fakeClasses prepares scorers with hashEncoder for camera cam0.
type fakeClasses struct {
	path    string
	reloads int
}

func (f *fakeClasses) Path() string { return f.path }
func (f *fakeClasses) Prepare(file *defects.File) (inspect.Scorers, error) {
	set, err := file.SetFor("cam0")
	if err != nil {
		return nil, err
	}
	s, err := defects.Prepare(set, nil, hashEncoder{}, "digest", 100)
	if err != nil {
		return nil, err
	}
	return inspect.Scorers{"cam0": s}, nil
}
func (f *fakeClasses) Reload() error { f.reloads++; return nil }

const classesYAML = `version: 1
sets:
  parts:
    uncertain: escalate
    good:
      prompts: ["a photo of a good part"]
      threshold: 0.5
    defects:
      - name: scratch
        prompts: ["a photo of a scratched part"]
        threshold: 0.5
cameras:
  default: parts
`

type harness struct {
	t       *testing.T
	srv     *Server
	ts      *httptest.Server
	app     *fakeApp
	classes *fakeClasses
	journal *journal.Journal
	store   *users.Store
}

type harnessOpt func(*Options)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	dir := t.TempDir()
	store, err := users.OpenStore(filepath.Join(dir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the user store", store) })
	for _, u := range []struct{ name, role string }{{"olga", users.RoleOperator}, {"erik", users.RoleEngineer}, {"ada", users.RoleAdmin}} {
		if _, err := store.AddUser(u.name, u.role, u.name+"-password", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	j, err := journal.Open(journal.Options{Dir: dir, FlushInterval: 5 * time.Millisecond, KeepPassImages: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the journal", j) })
	defPath := filepath.Join(dir, "defects.yaml")
	if err := os.WriteFile(defPath, []byte(classesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: store, journal: j, classes: &fakeClasses{path: defPath},
		app: &fakeApp{sys: System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "connected"}}}}}
	o := Options{App: h.app, Store: store, Classes: h.classes, History: j,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LoginLimit: 3}
	for _, f := range opts {
		f(&o)
	}
	if h.srv, err = New(o); err != nil {
		t.Fatal(err)
	}
	h.ts = httptest.NewServer(h.srv)
	t.Cleanup(h.ts.Close)
	return h
}

// client is a browser: it keeps cookies and sends the CSRF token.
type client struct {
	h    *harness
	jar  map[string]*http.Cookie
	csrf string
}

func (h *harness) anon() *client { return &client{h: h, jar: map[string]*http.Cookie{}} }

func (h *harness) login(name string) *client {
	c := h.anon()
	resp, body := c.do("POST", "/api/v1/auth/login", `{"name":"`+name+`","password":"`+name+`-password"}`)
	if resp.StatusCode != 200 {
		h.t.Fatalf("login %s: %d %s", name, resp.StatusCode, body)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		h.t.Fatalf("login %s: %v in %s", name, err, body)
	}
	c.csrf = out.CSRF
	return c
}

func (c *client) do(method, path, body string, hdr ...string) (*http.Response, string) {
	c.h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.h.ts.URL+path, r)
	if err != nil {
		c.h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, ck := range c.jar {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer testenv.Close(c.h.t, "the response body", resp.Body)
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.h.t.Fatalf("%s %s: reading the response: %v", method, path, err)
	}
	for _, ck := range resp.Cookies() {
		c.jar[ck.Name] = ck
	}
	return resp, string(data)
}

func (c *client) expect(method, path, body string, status int) string {
	c.h.t.Helper()
	resp, data := c.do(method, path, body)
	if resp.StatusCode != status {
		c.h.t.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, data, status)
	}
	return data
}

// record journals a verdict and waits until it is committed.
func (h *harness) record(v defects.Verdict) {
	h.t.Helper()
	before := h.journal.Stats().Written
	if err := h.journal.Write(context.Background(), &inspect.Result{Verdict: v}); err != nil {
		h.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.journal.Stats().Written == before {
		if time.Now().After(deadline) {
			h.t.Fatal("journal did not commit")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
