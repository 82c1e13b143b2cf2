package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/cli"
	"github.com/linesight/linesight/internal/testenv"
)

// appliance is a `linesight run` started in this process on a synthetic
// line, with a generated tiny model, its own data directory and defect file.
type appliance struct {
	URL      string
	Dir      string
	User     string
	Password string
	logs     *syncBuffer
}

// syncBuffer collects the appliance's log for a failing test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// demoClasses are the test line's defect classes. With the generated model's
// random weights, these prompts and thresholds give a mix of PASS, FAIL and
// UNCERTAIN on the synthetic cameras, so every verdict colour shows.
const demoClasses = `# Defect classes of the test line.
version: 1
templates:
  - "a photo of a {} metal part on a conveyor belt"
  - "a close-up photo of a {} industrial part"

sets:
  parts:
    uncertain: reject
    good:
      states: [flawless, clean, perfect]
      threshold: 0.5
    defects:
      - name: scratch
        states: [scratched]
        threshold: 0.5
      - name: dent
        states: [dented]
        threshold: 0.5
      - name: missing_component
        states: [incomplete]
        threshold: 0.5

cameras:
  default: parts
`

// startAppliance generates a model, writes a configuration like the demo's
// (kiosk on, a loopback port the kernel picks), creates an admin, runs the appliance
// until the test ends and waits until it is inspecting.
func startAppliance(t *testing.T) *appliance {
	t.Helper()
	return startApplianceWith(t, applianceOptions{})
}

// startFirstTime is startAppliance on a data directory without users: the
// appliance creates the first admin itself, and Password is what it wrote to
// data/initial-admin-password.
func startFirstTime(t *testing.T) *appliance {
	t.Helper()
	a := startApplianceWith(t, applianceOptions{NoAdmin: true})
	data, err := os.ReadFile(filepath.Join(a.Dir, "data", "initial-admin-password"))
	must(t, err)
	a.Password = strings.TrimSpace(string(data))
	return a
}

// applianceOptions change the demo's configuration.
type applianceOptions struct {
	Cameras string // more items of the cameras list
	Config  string // top-level blocks added (an mqtt block, say)
	Classes string // the defect-class file; "" for demoClasses
	NoAdmin bool   // leave the first admin to the appliance
}

// startApplianceWith is startAppliance with the demo's configuration changed.
func startApplianceWith(t *testing.T, o applianceOptions) *appliance {
	t.Helper()
	testenv.RequireORT(t)
	if o.Classes == "" {
		o.Classes = demoClasses
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())

	logs := &syncBuffer{}
	run := func(stdin string, args ...string) {
		t.Helper()
		var out bytes.Buffer
		if code := cli.Run(ctx, args, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &out}); code != 0 {
			t.Fatalf("linesight %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
		}
	}
	run("", "model", "synth", "--preset", "tiny", "--seed", "1", "--out", filepath.Join(dir, "model"), "--variants", "fp32")

	cfg := fmt.Sprintf(`line: e2e
data_dir: data
defects: classes.yaml
model:
  bundle: model
  variant: fp32
  threads: 1
cameras:
  - id: conveyor
    source: {kind: synthetic, width: 320, height: 240, fps: 4, seed: 1, defect_rate: 0.3}
  - id: station2
    mode: triggered
    trigger_timeout: 2s
    source: {kind: synthetic, width: 320, height: 240, fps: 5, seed: 2, defect_rate: 0.3}
%spipeline:
  batch_size: 2
  batch_wait: 20ms
%s
web:
  listen: 127.0.0.1:0
  kiosk: true
`, o.Cameras, o.Config)
	cfgPath := filepath.Join(dir, "linesight.yaml")
	must(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(o.Classes), 0o644))

	a := &appliance{Dir: dir, User: "admin", Password: "e2e-admin-password", logs: logs}
	if !o.NoAdmin {
		run(a.Password+"\n", "user", "add", "--config", cfgPath, "--name", a.User, "--role", "admin")
	}

	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"run", "--config", cfgPath}, cli.Stdio{In: strings.NewReader(""), Out: logs, Err: logs})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("appliance did not stop within 30 s")
		}
		if t.Failed() {
			t.Logf("appliance log:\n%s", withoutVerdicts(logs.String()))
		}
	})

	// The web server binds port 0 and logs the address it got.
	listening := regexp.MustCompile(`msg="web server listening" url=(http://[0-9.:]+)/`)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case code := <-done:
			t.Fatalf("appliance exited with %d before it was ready:\n%s", code, logs.String())
		default:
		}
		if a.URL == "" {
			if m := listening.FindStringSubmatch(logs.String()); m != nil {
				a.URL = m[1]
			}
		}
		if a.URL == "" {
			if time.Now().After(deadline) {
				t.Fatalf("appliance not listening after 2 minutes:\n%s", logs.String())
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		resp, err := http.Get(a.URL + "/readyz")
		if err == nil {
			must(t, resp.Body.Close())
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("appliance not ready after 2 minutes:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// withoutVerdicts drops the line per verdict from an appliance log (a few
// per second), leaving what explains a failure, and says how many it dropped.
func withoutVerdicts(log string) string {
	var kept strings.Builder
	dropped := 0
	for line := range strings.Lines(log) {
		if strings.Contains(line, " msg=verdict ") {
			dropped++
			continue
		}
		kept.WriteString(line)
	}
	fmt.Fprintf(&kept, "(%d verdict lines left out)\n", dropped)
	return kept.String()
}

// api calls the appliance's JSON API with Basic credentials.
func (a *appliance) api(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.URL+"/api/v1"+path, r)
	must(t, err)
	req.SetBasicAuth(a.User, a.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer testenv.Close(t, "the response body", resp.Body)
	if out != nil && resp.StatusCode < 300 {
		must(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

// liveFrame is a camera's live frame as the API serves it: the JPEG and the
// verdict its X-Linesight-Verdict header says it shows.
func (a *appliance) liveFrame(t *testing.T, camera string) (jpeg []byte, v map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", a.URL+"/api/v1/cameras/"+camera+"/frame.jpg", nil)
	must(t, err)
	req.SetBasicAuth(a.User, a.Password)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer testenv.Close(t, "the frame", resp.Body)
	jpeg, err = io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("frame of %s: HTTP %d %s", camera, resp.StatusCode, jpeg)
	}
	raw, err := url.PathUnescape(resp.Header.Get("X-Linesight-Verdict"))
	must(t, err)
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("frame of %s: verdict header %q: %v", camera, raw, err)
	}
	return jpeg, v
}

// defectsHash is the defect-file hash the running appliance reports.
func (a *appliance) defectsHash(t *testing.T) string {
	t.Helper()
	var s struct {
		Defects struct {
			DefectsHash string `json:"defects_hash"`
		} `json:"defects"`
	}
	a.api(t, "GET", "/system", nil, &s)
	return s.Defects.DefectsHash
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
