package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// notifySocket is a systemd notify socket: a unixgram socket the
// appliance's notifications arrive on, one datagram each.
type notifySocket struct {
	msgs chan string
}

// listenNotify opens a notify socket and points $NOTIFY_SOCKET and
// $WATCHDOG_USEC at it, as systemd does for a Type=notify service with
// WatchdogSec=watchdog.
func listenNotify(t *testing.T, watchdog time.Duration) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "notify") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the notify socket", conn) })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", fmt.Sprint(watchdog.Microseconds()))
	s := &notifySocket{msgs: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(s.msgs)
				return
			}
			s.msgs <- string(buf[:n])
		}
	}()
	return s
}

// next returns the next notification, failing after waitDeadline.
func (s *notifySocket) next(t *testing.T, what string) string {
	t.Helper()
	select {
	case m, ok := <-s.msgs:
		if !ok {
			t.Fatalf("notify socket closed while waiting for %s", what)
		}
		return m
	case <-time.After(waitDeadline):
		t.Fatalf("no notification after %v while waiting for %s", waitDeadline, what)
		return ""
	}
}

// holdSink is a lossless verdict sink whose writes wait while it is held:
// with a queue of one, the third verdict holds the inspection loop's
// dispatch, which is how a loop gets stuck behind a journal on a dead disk.
type holdSink struct {
	mu      sync.Mutex
	held    chan struct{} // open while held
	entered chan struct{} // closed when a write waits
	once    sync.Once
}

func newHoldSink() *holdSink { return &holdSink{entered: make(chan struct{})} }

func (h *holdSink) Name() string { return "hold" }

func (h *holdSink) Write(ctx context.Context, _ *inspect.Result) error {
	h.mu.Lock()
	held := h.held
	h.mu.Unlock()
	if held == nil {
		return nil
	}
	h.once.Do(func() { close(h.entered) })
	select {
	case <-held:
		return nil
	case <-ctx.Done():
		return errors.New("released by cancellation")
	}
}

func (h *holdSink) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = make(chan struct{})
}

func (h *holdSink) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held != nil {
		close(h.held)
		h.held = nil
	}
}

// TestSystemdNotifications runs `linesight run` as systemd would run the
// Type=notify unit, on a real notify socket: READY=1 once the model is warm,
// WATCHDOG=1 while the loop waits for parts, none while the loop is stuck,
// again once it moves, and STOPPING=1 at the end.
func TestSystemdNotifications(t *testing.T) {
	const watchdog = time.Second
	sock := listenNotify(t, watchdog)
	sink := newHoldSink()
	appliances := make(chan *app.App, 1)
	onAppliance = func(a *app.App) {
		a.AddSink(sink, inspect.SinkOptions{Lossless: true, Queue: 1})
		appliances <- a
	}
	t.Cleanup(func() { onAppliance = nil })
	cfg := runConfig{Cameras: triggeredCam0, Rest: webOnPort0}.write(t)
	p := launchAppliance(t, cfg)
	t.Cleanup(sink.release) // before the appliance stops: cleanups run last first
	a := <-appliances

	// READY=1 comes first, after the warm-up.
	if m := sock.next(t, "READY=1"); !strings.Contains(m, "READY=1") {
		t.Fatalf("first notification %q, want READY=1", m)
	}
	if st := a.State(); st != app.StateReady {
		t.Fatalf("READY=1 sent while the appliance is %s", st)
	}
	if !strings.Contains(p.Log.String(), "appliance ready") {
		t.Fatalf("READY=1 before the appliance logged its warm-up:\n%s", p.Log.String())
	}

	// An idle line (no part comes) is alive: pings keep coming.
	for i := 0; i < 3; i++ {
		if m := sock.next(t, "a watchdog ping on the idle line"); m != "WATCHDOG=1" {
			t.Fatalf("notification %q on the idle line, want WATCHDOG=1", m)
		}
	}

	// Three parts: one verdict waits in the held sink's write, one in its
	// queue, the third holds the loop.
	sink.hold()
	for i := 0; i < 3; i++ {
		if err := a.Trigger("cam0", fmt.Sprintf("P-%d", i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-sink.entered:
	case <-time.After(waitDeadline):
		t.Fatal("no verdict reached the held sink")
	}
	// The pings stop: a silence of three watchdog intervals comes (the
	// pings already on their way arrive first).
	deadline := time.After(waitDeadline)
	for silent := false; !silent; {
		select {
		case m := <-sock.msgs:
			if m != "WATCHDOG=1" {
				t.Fatalf("notification %q while the loop is stuck", m)
			}
		case <-time.After(3 * watchdog):
			silent = true
		case <-deadline:
			t.Fatalf("watchdog pings went on for %v while the loop was stuck", waitDeadline)
		}
	}
	if !strings.Contains(p.Log.String(), "inspection loop made no progress") {
		t.Errorf("the stuck loop was not logged:\n%s", p.Log.String())
	}

	// Released, the loop moves and the pings come back.
	sink.release()
	if m := sock.next(t, "a watchdog ping after the loop moved again"); m != "WATCHDOG=1" {
		t.Fatalf("notification %q after the loop moved again, want WATCHDOG=1", m)
	}

	p.stop(t)
	for {
		m := sock.next(t, "STOPPING=1")
		if m == "STOPPING=1" {
			break
		}
		if m != "WATCHDOG=1" {
			t.Fatalf("notification %q while stopping, want STOPPING=1", m)
		}
	}
}
