package mqttlink

import (
	"encoding/json"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

func timeAfter(ms int) <-chan time.Time { return time.After(time.Duration(ms) * time.Millisecond) }

func statusStates(t *testing.T, msgs []received) []StatusMessage {
	t.Helper()
	out := make([]StatusMessage, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal(m.payload, &out[i]); err != nil {
			t.Fatalf("status %s: %v", m.payload, err)
		}
	}
	return out
}

func lastIs(t *testing.T, state, warmup string) func([]received) bool {
	return func(m []received) bool {
		if len(m) == 0 {
			return false
		}
		s := statusStates(t, m[len(m)-1:])[0]
		return s.State == state && (warmup == "" || s.Warmup == warmup)
	}
}

func TestBirthWarmupAndCleanOffline(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/status", nil)
	ob, app := newOutbox(), newFakeApp()
	app.set(func(s *Snapshot) { s.State, s.Warmup = "starting", WarmupStarting })
	_, stop := runLink(t, testOptions(b.URL()), ob, app)

	plc.await("birth while warming up", "/status", lastIs(t, "online", WarmupStarting))
	app.set(func(s *Snapshot) { s.State, s.Warmup = "ready", WarmupReady })
	msgs := plc.await("status once ready", "/status", lastIs(t, "online", WarmupReady))
	s := statusStates(t, msgs[len(msgs)-1:])[0]
	if s.V != 1 || s.Version != "test" || s.ConfigHash != "sha256:config" || s.Model == nil || s.Model.Digest != "sha256:model" ||
		len(s.Cameras) != 2 || s.Cameras[0] != (CameraInfo{"cam0", "triggered"}) || s.StartedAt == nil {
		t.Errorf("birth = %s", msgs[len(msgs)-1].payload)
	}
	stop()
	plc.await("offline on a clean stop", "/status", lastIs(t, "offline", ""))

	// Retained: a PLC that connects later learns the state at once.
	late := subscribe(t, b.URL(), "late-plc", "linesight/line1/status", nil)
	got := late.await("retained status", "/status", func(m []received) bool { return len(m) > 0 })
	if st := statusStates(t, got)[0]; st.State != "offline" || !got[0].retained {
		t.Errorf("retained status = %s (retained %v)", got[0].payload, got[0].retained)
	}
}

// After a failed start the process stops at once; the retained offline
// status keeps why, so a PLC connecting later still learns it.
func TestOfflineAfterAFailedStartSaysWhy(t *testing.T) {
	b := startBroker(t, nil)
	ob, app := newOutbox(), newFakeApp()
	app.set(func(s *Snapshot) {
		s.State, s.Warmup, s.Error = "failed", WarmupFailed, "load model: vision_model.onnx: truncated"
	})
	l, stop := runLink(t, testOptions(b.URL()), ob, app)
	awaitConnected(t, l)
	stop()

	late := subscribe(t, b.URL(), "late-plc", "linesight/line1/status", nil)
	got := late.await("retained status", "/status", func(m []received) bool { return len(m) > 0 })
	st := statusStates(t, got)[0]
	if st.State != "offline" || st.Warmup != WarmupFailed || st.Error != "load model: vision_model.onnx: truncated" || !got[0].retained {
		t.Errorf("retained status after a failed start = %s (retained %v), want offline with warmup failed and the error", got[0].payload, got[0].retained)
	}
}

// cutProxy forwards TCP to the broker and can sever every connection at
// once, as a pulled cable or a crashed appliance would.
type cutProxy struct {
	t     testing.TB
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, ln: ln}
	t.Cleanup(func() { testenv.Close(t, "the proxy's listener", ln); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				closeConn(t, c)
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go pipe(t, c, up)
			go pipe(t, up, c)
		}
	}()
	return p
}

// closeConn closes a proxied connection: one already closed (by cut, or by
// the pipe the other way) is what cutting means, not a fault. It runs on the
// proxy's goroutines too, so it reports with t.Errorf only.
func closeConn(t testing.TB, c net.Conn) {
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("proxy: closing a connection: %v", err)
	}
}

func pipe(t testing.TB, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			closeConn(t, dst)
			return
		}
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		closeConn(p.t, c)
	}
	p.conns = nil
}

func (p *cutProxy) URL() string { return "tcp://" + p.ln.Addr().String() }

func TestWillAnnouncesOfflineWhenTheConnectionDies(t *testing.T) {
	b := startBroker(t, nil)
	proxy := newCutProxy(t, b.URL()[len("tcp://"):])
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/#", nil)
	ob, app := newOutbox(), newFakeApp()
	l, _ := runLink(t, testOptions(proxy.URL()), ob, app)
	plc.await("birth", "/status", lastIs(t, "online", WarmupReady))
	awaitConnected(t, l)

	proxy.cut()
	plc.await("the will", "/status", func(m []received) bool {
		for _, s := range statusStates(t, m) {
			if s.State == "offline" {
				return true
			}
		}
		return false
	})
	// The link reconnects by itself and is born again; verdicts flow.
	plc.await("birth after the cut", "/status", lastIs(t, "online", WarmupReady))
	ob.Append(verdict("cam0", 1, defects.Pass))
	msgs := plc.await("a verdict after the cut", "/verdict", func(m []received) bool { return len(m) >= 1 })
	checkInOrder(t, verdictIDs(t, msgs), 1)
}

func TestStatsCountVerdicts(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/stats", nil)
	ob, app := newOutbox(), newFakeApp()
	app.set(func(s *Snapshot) {
		s.Cameras = []CameraCounters{{Camera: "cam0", Triggers: 5, Inspected: 4, MissedTriggers: 1}}
	})
	o := testOptions(b.URL())
	o.MQTT.StatsInterval = 50 * time.Millisecond
	runLink(t, o, ob, app)
	for i, out := range []defects.Outcome{defects.Pass, defects.Pass, defects.Fail, defects.Uncertain, defects.Missed} {
		ob.Append(verdict("cam0", uint64(i+1), out))
	}
	awaitEmpty(t, ob)
	msgs := plc.await("stats with the verdicts", "/stats", func(m []received) bool {
		for _, r := range m {
			var s StatsMessage
			if err := json.Unmarshal(r.payload, &s); err != nil {
				t.Fatalf("stats %s: %v", r.payload, err)
			}
			if len(s.Cameras) == 2 && s.Cameras[0].OK+s.Cameras[0].NG+s.Cameras[0].Uncertain+s.Cameras[0].Missed == 5 {
				return true
			}
		}
		return false
	})
	var s StatsMessage
	if err := json.Unmarshal(msgs[len(msgs)-1].payload, &s); err != nil {
		t.Fatalf("stats %s: %v", msgs[len(msgs)-1].payload, err)
	}
	c := s.Cameras[0]
	if c.Camera != "cam0" || c.OK != 2 || c.NG != 1 || c.Uncertain != 1 || c.Missed != 1 || c.Triggers != 5 || c.MissedTriggers != 1 || s.V != 1 {
		t.Errorf("stats = %s", msgs[len(msgs)-1].payload)
	}
	var proc Processing
	for _, r := range msgs {
		var s StatsMessage
		if err := json.Unmarshal(r.payload, &s); err != nil {
			t.Fatalf("stats %s: %v", r.payload, err)
		}
		if p := s.Cameras[0].Processing; p.Count > 0 {
			proc.Count += p.Count
			if p.MinMS != 30 || p.MaxMS != 30 || p.AvgMS != 30 {
				t.Errorf("processing = %+v, want 30 ms", p)
			}
		}
	}
	if proc.Count != 4 {
		t.Errorf("processing counted %d verdicts over the intervals, want 4 (MISSED has none)", proc.Count)
	}
}
