package cli

import (
	"bytes"
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

	"github.com/linesight/linesight/appliance/escalation"
)

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestServe(t *testing.T) {
	model := synth(t, 5, "fp32")
	dir := t.TempDir()
	write := func(yaml string) string {
		p := filepath.Join(dir, "serve.yaml")
		os.WriteFile(p, []byte(yaml), 0o644)
		return p
	}

	// Without a token the server does not start.
	r := run(t, "", "serve", "--config", write(fmt.Sprintf("data_dir: data\nmodel: {bundle: %s}\n", model)))
	if r.code != 1 || !strings.Contains(r.stder, "escalation.token") {
		t.Fatalf("serve without a token: exit %d: %s", r.code, r.stder)
	}

	// Port 0: the server logs the address it got.
	cfg := write(fmt.Sprintf("data_dir: data\nmodel: {bundle: %s, threads: 1}\nescalation: {token: 0123456789abcdef, serve: {listen: \"127.0.0.1:0\"}}\n", model))
	ctx, cancel := context.WithCancel(context.Background())
	var errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--config", cfg}, Stdio{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &errb})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errb.String(), "escalation server listening") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	m := regexp.MustCompile(`url=(http://[0-9.:]+)/`).FindStringSubmatch(errb.String())
	if m == nil {
		t.Fatalf("serve logged no address:\n%s", errb.String())
	}
	resp, err := http.Post(m[1]+escalation.Path, "multipart/form-data", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a request without the token got %s", resp.Status)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d after cancel:\n%s", code, errb.String())
	}
}
