package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/frame"
)

// mjpegServer serves an endless multipart MJPEG stream, the way many IP
// cameras do over HTTP, and can be stopped and started on the same port.
type mjpegServer struct {
	t    *testing.T
	addr string
	jpeg []byte
	// goQuietAfter, if set, makes each response stop sending after that
	// many frames while keeping the connection open.
	goQuietAfter int
	mu           sync.Mutex
	srv          *http.Server
}

func newMJPEGServer(t *testing.T, quietAfter int) *mjpegServer {
	m := solidMat(t, 64, 48, shades[2])
	defer testenv.Close(t, "the image", &m)
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, m)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	s := &mjpegServer{t: t, jpeg: append([]byte(nil), buf.GetBytes()...), goQuietAfter: quietAfter}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *mjpegServer) url() string { return "http://" + s.addr + "/video.mjpg" }

func (s *mjpegServer) start() {
	s.t.Helper()
	addr := s.addr
	if addr == "" {
		// A restart takes the same port again: one that no listener on
		// port 0 and no outgoing connection is given meanwhile.
		addr = fmt.Sprintf("127.0.0.1:%d", testenv.ServerPort(s.t))
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger for a moment
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = l.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(s.serve)}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("serving the MJPEG stream: %v", err)
		}
	}()
}

func (s *mjpegServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		if err := srv.Close(); err != nil { // drops the streaming connections too
			s.t.Errorf("stopping the MJPEG server: %v", err)
		}
	}
}

func (s *mjpegServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; ; sent++ {
		if s.goQuietAfter > 0 && sent == s.goQuietAfter {
			<-r.Context().Done()
			return
		}
		// A write fails when the camera hangs up or the server stops:
		// that ends this stream, as it would a camera's.
		if _, err := fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(s.jpeg)); err != nil {
			return
		}
		if _, err := w.Write(s.jpeg); err != nil {
			return
		}
		if _, err := w.Write([]byte("\r\n")); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func TestStreamSourceReadsMJPEGOverHTTP(t *testing.T) {
	srv := newMJPEGServer(t, 0)
	src := openSource(t, SourceConfig{Kind: KindStream, URL: srv.url(), OpenTimeout: 5 * time.Second, ReadTimeout: 2 * time.Second})
	got, err := readShades(t, src, 3)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[2 2 2]" {
		t.Errorf("shades %v", got)
	}
}

func TestStreamThatGoesQuietFailsTheRead(t *testing.T) {
	srv := newMJPEGServer(t, 10)
	src := openSource(t, SourceConfig{Kind: KindStream, URL: srv.url(), OpenTimeout: 5 * time.Second, ReadTimeout: 300 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := readShades(t, src, 1000)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no frame within 300ms") {
			t.Errorf("read: %v, want a read that gives up", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("reading a stream that went quiet hung past its read timeout")
	}
}

func TestDeadStreamFailsWithinItsTimeouts(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The accepted connections are closed once the listener is, and any
	// failure to close them is reported here, on the test's goroutine.
	closed := make(chan error, 1)
	defer func() {
		if err := <-closed; err != nil {
			t.Errorf("closing the silent server's connections: %v", err)
		}
	}()
	defer testenv.Close(t, "the silent server's listener", l)
	go func() {
		var conns []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		var errs []error
		for _, c := range conns {
			errs = append(errs, c.Close())
		}
		closed <- errors.Join(errs...)
	}()
	src, err := New(SourceConfig{Kind: KindStream, URL: "http://" + l.Addr().String() + "/video", OpenTimeout: 500 * time.Millisecond}, "cam0", frame.NewPool(1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- src.Open(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "open stream http://127.0.0.1") {
			t.Errorf("open: %v, want a failed open naming the stream", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("opening a silent stream hung past its open timeout")
	}
}

func TestCameraRecoversWhenTheStreamComesBack(t *testing.T) {
	srv := newMJPEGServer(t, 0)
	cfg := CameraConfig{
		Source:       SourceConfig{Kind: KindStream, URL: srv.url(), OpenTimeout: 2 * time.Second, ReadTimeout: time.Second},
		StallTimeout: 3 * time.Second,
		Reconnect:    Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond},
	}
	cam, err := NewCamera("cam0", cfg, frame.NewPool(8), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	frames := make(chan *frame.Frame, 10000)
	done := make(chan error, 1)
	go func() {
		done <- cam.Run(ctx, func(f *frame.Frame) {
			select {
			case frames <- f:
			case <-ctx.Done():
				f.Release()
			}
		})
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v, want nil after the cancel", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not stop")
		}
	}()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; status %+v", what, cam.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("first frames", func() bool { return cam.Status().Frames >= 3 })
	srv.stop()
	waitFor("a reconnect attempt", func() bool { return cam.Status().Reconnects >= 1 })
	if st := cam.Status(); st.State == StateConnected && st.LastError == "" {
		t.Errorf("status %+v after the server stopped", st)
	}
	before := cam.Status().Frames
	srv.start()
	waitFor("frames after the restart", func() bool {
		st := cam.Status()
		return st.State == StateConnected && st.Frames >= before+3
	})

	// Numbering carries on across the outage.
	var last uint64
	for len(frames) > 0 {
		f := <-frames
		if f.Seq != last+1 {
			t.Fatalf("seq %d after %d", f.Seq, last)
		}
		last = f.Seq
		f.Release()
	}
}
