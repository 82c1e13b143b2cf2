package cli

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/escalation"
	"github.com/linesight/linesight/internal/testenv"
)

func TestServe(t *testing.T) {
	testenv.RequireORT(t)
	model := synth(t, 5, "fp32")
	dir := t.TempDir()
	write := func(yaml string) string {
		p := filepath.Join(dir, "serve.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Without a token the server does not start.
	r := run(t, "", "serve", "--config", write(fmt.Sprintf("data_dir: data\nmodel: {bundle: %s}\n", model)))
	if r.code != 1 || !strings.Contains(r.stder, "escalation.token") {
		t.Fatalf("serve without a token: exit %d: %s", r.code, r.stder)
	}

	// Port 0: the server logs the address it got.
	cfg := write(fmt.Sprintf("data_dir: data\nmodel: {bundle: %s, threads: 1}\nescalation: {token: 0123456789abcdef, serve: {listen: \"127.0.0.1:0\"}}\n", model))
	srv := launch(t, "serve", "--config", cfg)
	srv.waitLog(t, "the escalation server", "escalation server listening")
	m := regexp.MustCompile(`url=(http://[0-9.:]+)/`).FindStringSubmatch(srv.Log.String())
	if m == nil {
		t.Fatalf("serve logged no address:\n%s", srv.Log.String())
	}
	resp, err := http.Post(m[1]+escalation.Path, "multipart/form-data", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a request without the token got %s", resp.Status)
	}
	if code := srv.stop(t); code != 0 {
		t.Errorf("serve exited %d after cancel:\n%s", code, srv.Log.String())
	}
}
