package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// guard is how long a test waits for the server to act before it fails;
// generous, as it only bounds a failing test.
const guard = 20 * time.Second

// serveWith runs the harness's server behind ServeListener with small
// timeouts and returns its address.
func serveWith(t *testing.T, h *harness, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, h.srv, to, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// awaitClosed reads until the server closes the connection; it fails the
// test if the guard passes first.
func awaitClosed(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(guard)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open", what)
	}
}

var small = Timeouts{ReadHeader: 200 * time.Millisecond, Read: 200 * time.Millisecond, Idle: 200 * time.Millisecond}

func TestTricklingBodyIsCutOff(t *testing.T) {
	addr := serveWith(t, newHarness(t), small)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the connection", conn)
	if _, err := io.WriteString(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a byte now and then, never the whole body
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := io.WriteString(conn, " "); err != nil {
					return
				}
			}
		}
	}()
	awaitClosed(t, conn, "a body trickling in")
}

func TestIdleKeepAliveConnectionIsClosed(t *testing.T) {
	addr := serveWith(t, newHarness(t), small)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the connection", conn)
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	must(t, resp.Body.Close())
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("healthz: %d, close %v; want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	awaitClosed(t, conn, "an idle kept-alive connection")
}

// A live stream is not a slow request: it keeps running past the read
// timeout for as long as its client reads.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Kiosk = true })
	addr := serveWith(t, h, small)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/v1/verdicts/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the verdict stream", resp.Body)
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry:") {
		t.Fatalf("stream start: %q %v", line, err)
	}
	// Past the read timeout by a wide margin: any sleep of at least the
	// timeout would do, so this cannot be too short.
	time.Sleep(3 * small.Read)
	must(t, h.srv.Live().Write(context.Background(), &inspect.Result{Verdict: verdict(7, defects.Pass, "good", time.Now())}))
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended after the read timeout: %v", err)
		}
		if strings.HasPrefix(line, "event: verdict") {
			return
		}
	}
}
