// Package opcuatest drives node-opcua's client (client.js here, a test
// peer from npm) against an OPC UA endpoint for the tests: the reads and
// method calls an OPC UA integrator's software makes.
package opcuatest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
)

// Result is what the client read and what its calls returned.
type Result struct {
	Values map[string]any    `json:"values"`
	Status map[string]string `json:"status"`
	Calls  []string          `json:"calls"` // status code names, in order
}

// Call is a method call on the Appliance object.
type Call struct {
	Method string   `json:"method"`
	Args   []string `json:"args"`
}

// Run connects to endpoint, finds namespace, reads the nodes (string ids
// in that namespace), makes the calls and returns what it got.
func Run(t testing.TB, endpoint, namespace string, read []string, calls []Call) Result {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	here := filepath.Dir(self)
	node, modules := testenv.RequireNodeOPCUA(t, filepath.Join(here, "..", "..", ".."))
	job, _ := json.Marshal(map[string]any{"endpoint": endpoint, "namespace": namespace, "read": read, "call": calls})
	path := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(path, job, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(here, "client.js"), path)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node-opcua client: %v\n%s", err, stderr.String())
	}
	// node-opcua logs on stdout too: the result is the line after RESULT.
	_, res, ok := strings.Cut(string(out), "\nRESULT ")
	if !ok {
		t.Fatalf("no result from the client:\n%s", out)
	}
	res, _, _ = strings.Cut(res, "\n")
	var r Result
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatalf("%v: %s", err, res)
	}
	return r
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return string(b.buf) }
