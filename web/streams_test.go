package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// openStream starts a streaming GET without login (kiosk) and returns its
// status and, when refused, the answer; a stream that opened stays open
// until close is called or the test ends.
func openStream(t *testing.T, h *harness, path string) (status int, body string, closeStream func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", h.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	closeStream = func() { cancel(); testenv.Close(t, "the stream "+path, resp.Body) }
	t.Cleanup(closeStream)
	if resp.StatusCode != http.StatusOK {
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = string(data)
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s refused with %d but no Retry-After", path, resp.StatusCode)
		}
	}
	return resp.StatusCode, body, closeStream
}

func TestLiveStreamsAreCapped(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Kiosk, o.MaxStreams, o.MaxCameraStreams = true, 3, 2 })
	// A frame, so an MJPEG stream answers at once.
	must(t, h.srv.Live().Write(context.Background(), &inspect.Result{Verdict: verdict(1, defects.Pass, "good", time.Now()), Frame: bgrFrame(64, 48)}))

	const mjpeg = "/api/v1/cameras/cam0/live.mjpeg"
	st, _, closeFirst := openStream(t, h, mjpeg)
	if st != 200 {
		t.Fatalf("first stream: %d", st)
	}
	if st, _, _ := openStream(t, h, mjpeg); st != 200 {
		t.Fatalf("second stream: %d", st)
	}
	for _, p := range []string{mjpeg, "/api/v1/verdicts/stream?camera=cam0"} {
		if st, body, _ := openStream(t, h, p); st != 503 || !strings.Contains(body, "camera cam0") || !strings.Contains(body, "web.max_streams_per_camera") {
			t.Fatalf("third stream of cam0 (%s): %d %s; want 503 naming the camera's limit", p, st, body)
		}
	}
	if st, _, _ := openStream(t, h, "/api/v1/verdicts/stream"); st != 200 {
		t.Fatalf("a stream of every camera within the total: %d", st)
	}
	if st, body, _ := openStream(t, h, "/api/v1/verdicts/stream"); st != 503 || !strings.Contains(body, "web.max_streams") {
		t.Fatalf("fourth stream: %d %s; want 503 naming the total limit", st, body)
	}
	if m := h.anon().expect("GET", "/metrics", "", 200); !strings.Contains(m, "linesight_web_live_streams 3") || !strings.Contains(m, "linesight_web_live_streams_refused_total 3") {
		t.Fatalf("metrics do not count the streams:\n%s", m)
	}

	// A closed stream frees its slot.
	closeFirst()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, _ := openStream(t, h, mjpeg)
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed stream's slot was not freed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
