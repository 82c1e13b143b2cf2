package testenv

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

// recorder is a testing.TB that records how a test would have ended.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Errorf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestMissingFailsWhenRequiredAndSkipsOtherwise(t *testing.T) {
	t.Setenv(RequireEnv, "1")
	r := &recorder{TB: t}
	Missing(r, "mosquitto is not installed")
	if r.skipped != "" || !strings.Contains(r.failed, "mosquitto is not installed") || !strings.Contains(r.failed, RequireEnv+"=1") {
		t.Errorf("required: failed %q, skipped %q; want a failure that says what and why", r.failed, r.skipped)
	}

	t.Setenv(RequireEnv, "")
	r = &recorder{TB: t}
	Missing(r, "mosquitto is not installed")
	if r.failed != "" || !strings.Contains(r.skipped, "mosquitto is not installed") {
		t.Errorf("not required: failed %q, skipped %q; want a skip with the reason", r.failed, r.skipped)
	}
}

func TestRequireORTNamesTheLibrary(t *testing.T) {
	missing := t.TempDir() + "/libonnxruntime.so.1"
	t.Setenv("LINESIGHT_ORT_LIB", missing)
	t.Setenv(RequireEnv, "1")
	r := &recorder{TB: t}
	RequireORT(r)
	if !strings.Contains(r.failed, missing) || !strings.Contains(r.failed, "make setup") {
		t.Errorf("missing library: failed %q", r.failed)
	}
}

func TestRequirePythonOfAModuleNoOneHas(t *testing.T) {
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	if py := RequirePython(r, "linesight_no_such_module"); py != "" || !strings.Contains(r.skipped, "linesight_no_such_module") {
		t.Errorf("python %q, skipped %q; want none and a skip naming the module", py, r.skipped)
	}
}

func TestRefusingAddrRefuses(t *testing.T) {
	addr := RefusingAddr(t)
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			Close(t, "the accepted connection", c)
			t.Fatalf("a connection to %s was accepted", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial %s: %v, want connection refused", addr, err)
		}
	}
	// Nobody else can take the port while the test holds it.
	if ln, err := net.Listen("tcp", addr); err == nil {
		Close(t, "the second listener", ln)
		t.Fatalf("another listener took %s", addr)
	}
}

func TestServerPortIsOutsideTheEphemeralRangeAndFree(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p := ServerPort(t)
		if p < 10000 || p >= ephemeralLow() || seen[p] {
			t.Fatalf("port %d: outside [10000, %d) or handed out twice", p, ephemeralLow())
		}
		seen[p] = true
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		if err := ln.Close(); err != nil {
			t.Fatalf("port %d: closing the listener: %v", p, err)
		}
	}
}

type closer struct{ err error }

func (c closer) Close() error { return c.err }

func TestCloseReportsWhatFailedToClose(t *testing.T) {
	r := &recorder{TB: t}
	Close(r, "the journal", closer{errors.New("disk full")})
	if r.failed != "closing the journal: disk full" {
		t.Errorf("a failed close reported %q, want what was closed and why it failed", r.failed)
	}
	r = &recorder{TB: t}
	Close(r, "the journal", closer{})
	if r.failed != "" {
		t.Errorf("a clean close reported %q", r.failed)
	}
}
