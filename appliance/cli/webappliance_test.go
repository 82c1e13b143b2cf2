package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// webAppliance is `linesight run` with the dashboard on, in this process,
// on a tiny random model and synthetic cameras.
type webAppliance struct {
	URL    string // http://127.0.0.1:PORT, the port the server bound
	Config string
	Dir    string
	Stderr *lockedBuffer
	// Stop ends the appliance and waits for it; the test's end calls it too.
	Stop func()
}

// webApplianceConfig writes a configuration with the web server on a port
// the system picks and the given cameras section; it returns its path.
func webApplianceConfig(t *testing.T, cameras string) string {
	t.Helper()
	model := synth(t, 1, "fp32")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`line: l1
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
%s
journal: {flush_interval: 20ms}
web: {listen: "127.0.0.1:0"}
`, model, cameras)
	for name, data := range map[string]string{"linesight.yaml": cfg, "classes.yaml": offlineDefects} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "linesight.yaml")
}

var listeningURL = regexp.MustCompile(`msg="web server listening" url=(http://\S+)/`)

// startWebAppliance runs the appliance until the test ends and waits until
// it serves and inspects.
func startWebAppliance(t *testing.T, cfg string) *webAppliance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &webAppliance{Config: cfg, Dir: filepath.Dir(cfg), Stderr: &lockedBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"run", "--config", cfg}, Stdio{In: strings.NewReader(""), Out: a.Stderr, Err: a.Stderr})
	}()
	a.Stop = sync.OnceFunc(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("run exited %d:\n%s", code, a.Stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("run did not stop within 30 s")
		}
	})
	t.Cleanup(a.Stop)
	deadline := time.Now().Add(time.Minute)
	for {
		if a.URL == "" {
			if m := listeningURL.FindStringSubmatch(a.Stderr.String()); m != nil {
				a.URL = m[1]
			}
		}
		if a.URL != "" {
			if resp, err := http.Get(a.URL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return a
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("appliance not serving and ready within a minute:\n%s", a.Stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d before it was ready:\n%s", code, a.Stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
