package web

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/linesight/linesight/appliance/health"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
)

func verdict(seq uint64, o defects.Outcome, class string, at time.Time) defects.Verdict {
	return defects.Verdict{Camera: "cam0", Seq: seq, PartID: fmt.Sprintf("P-%d", seq), CapturedAt: at, InferredAt: at.Add(80 * time.Millisecond),
		Outcome: o, Class: class, Confidence: 0.9, Latency: 80 * time.Millisecond, ModelDigest: "digest", Embedding: embed("a photo of a good part")}
}

func TestSaveClassesRejectsInvalidYAMLAndKeepsFile(t *testing.T) {
	h := newHarness(t)
	eng := h.login("erik")
	body := eng.expect("PUT", "/api/v1/classes", `{"yaml":"version: 1\nsets: [oops"}`, 422)
	if !strings.Contains(body, "message") {
		t.Fatalf("422 body: %s", body)
	}
	big := `{"yaml":"` + strings.Repeat("x", maxClassBody) + `"}`
	eng.expect("PUT", "/api/v1/classes", big, 413)
	eng.expect("PUT", "/api/v1/classes", `{"yaml":"a","nonsense":1}`, 400)
	if data := testenv.ReadFile(t, h.classes.path); data != classesYAML || h.classes.reloads != 0 {
		t.Fatalf("file or running classes changed after bad input (reloads %d)", h.classes.reloads)
	}
}

func TestSaveClassesWritesBackupReloadsAndAudits(t *testing.T) {
	h := newHarness(t)
	eng := h.login("erik")
	cur := eng.expect("GET", "/api/v1/classes", "", 200)
	var got struct{ Hash string }
	if err := json.Unmarshal([]byte(cur), &got); err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(classesYAML, "        threshold: 0.5", "        threshold: 0.7", 1)
	req, err := json.Marshal(map[string]string{"yaml": edited, "base_hash": "stale", "comment": "stricter"})
	if err != nil {
		t.Fatal(err)
	}
	eng.expect("PUT", "/api/v1/classes", string(req), 409)
	req, err = json.Marshal(map[string]string{"yaml": edited, "base_hash": got.Hash, "comment": "stricter"})
	if err != nil {
		t.Fatal(err)
	}
	eng.expect("PUT", "/api/v1/classes", string(req), 200)
	if data := testenv.ReadFile(t, h.classes.path); data != edited {
		t.Fatal("the new file was not written")
	}
	if data := testenv.ReadFile(t, h.classes.path+".bak"); data != classesYAML {
		t.Fatal("the previous file was not kept as .bak")
	}
	if h.classes.reloads != 1 {
		t.Fatalf("reloads %d, want 1", h.classes.reloads)
	}
	audit := eng.expect("GET", "/api/v1/audit", "", 200)
	if !strings.Contains(audit, `"classes.save"`) || !strings.Contains(audit, `parts/scratch: threshold 0.5 -\u003e 0.7`) || !strings.Contains(audit, `"user":"erik"`) {
		t.Fatalf("audit: %s", audit)
	}
}

func TestTryClassesReportsFlipsWithoutSaving(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	for i := uint64(1); i <= 3; i++ {
		v := verdict(i, defects.Pass, "good", now.Add(time.Duration(i)*time.Second))
		if i == 3 {
			v.Embedding = embed("a photo of a dented part")
		}
		h.record(v)
	}
	// The edit adds a dent class whose prompt matches record 3 exactly.
	edited := strings.Replace(classesYAML, "cameras:", `      - name: dent
        prompts: ["a photo of a dented part"]
        threshold: 0.5
cameras:`, 1)
	req, err := json.Marshal(map[string]any{"yaml": edited, "last": 10})
	if err != nil {
		t.Fatal(err)
	}
	body := h.login("erik").expect("POST", "/api/v1/classes/try", string(req), 200)
	var out struct {
		Rescored, Flipped int
		Flips             []struct {
			ID       uint64
			From, To string
			ToClass  string `json:"to_class"`
		}
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if out.Rescored != 3 || out.Flipped != 1 || len(out.Flips) != 1 || out.Flips[0].To != "FAIL" {
		t.Fatalf("try: %s", body)
	}
	if data := testenv.ReadFile(t, h.classes.path); data != classesYAML || h.classes.reloads != 0 {
		t.Fatal("trying must not save or reload")
	}
	h.login("olga").expect("POST", "/api/v1/classes/try", string(req), 403)
	h.login("erik").expect("POST", "/api/v1/classes/try", `{"yaml":"::"}`, 422)
}

func TestHistoryPagesFiltersAndCSV(t *testing.T) {
	h := newHarness(t)
	now := time.Now().Add(-time.Minute)
	for i := uint64(1); i <= 5; i++ {
		o, class := defects.Pass, "good"
		if i%2 == 0 {
			o, class = defects.Fail, "scratch"
		}
		h.record(verdict(i, o, class, now.Add(time.Duration(i)*time.Second)))
	}
	c := h.login("olga")
	var page struct {
		Records []struct {
			ID  uint64
			Seq uint64
		}
		Next string
	}
	if err := json.Unmarshal([]byte(c.expect("GET", "/api/v1/history?limit=2", "", 200)), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 || page.Records[0].Seq != 5 || page.Next == "" {
		t.Fatalf("first page: %+v", page)
	}
	if err := json.Unmarshal([]byte(c.expect("GET", "/api/v1/history?limit=2&cursor="+page.Next, "", 200)), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 || page.Records[0].Seq != 3 {
		t.Fatalf("second page: %+v", page)
	}
	fails := c.expect("GET", "/api/v1/history?outcome=FAIL", "", 200)
	if strings.Count(fails, `"outcome":"FAIL"`) != 2 || strings.Contains(fails, `"PASS"`) {
		t.Fatalf("FAIL filter: %s", fails)
	}
	c.expect("GET", "/api/v1/history?outcome=BROKEN", "", 400)
	c.expect("GET", "/api/v1/history?cursor=junk", "", 400)
	c.expect("GET", "/api/v1/history?limit=0", "", 400)
	c.expect("GET", "/api/v1/history/999", "", 404)
	c.expect("GET", "/api/v1/history/abc", "", 400)
	one := c.expect("GET", fmt.Sprintf("/api/v1/history/%d", page.Records[0].ID), "", 200)
	if !strings.Contains(one, `"scores"`) && !strings.Contains(one, `"confidence":0.9`) {
		t.Fatalf("record: %s", one)
	}
	csv := c.expect("GET", "/api/v1/history.csv?order=oldest", "", 200)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "id,captured_at,camera") || !strings.Contains(lines[1], ",P-1,PASS,") {
		t.Fatalf("csv:\n%s", csv)
	}
}

func TestStatistics(t *testing.T) {
	h := newHarness(t)
	now := time.Now().Add(-2 * time.Minute)
	for i := uint64(1); i <= 4; i++ {
		o, class := defects.Pass, "good"
		if i == 4 {
			o, class = defects.Fail, "scratch"
		}
		h.record(verdict(i, o, class, now.Add(time.Duration(i)*time.Second)))
	}
	c := h.login("olga")
	y := c.expect("GET", "/api/v1/stats/yield?from=1h&step=10m", "", 200)
	if !strings.Contains(y, `"total":{"total":4,"pass":3,"fail":1`) {
		t.Fatalf("yield: %s", y)
	}
	c.expect("GET", "/api/v1/stats/yield?from=720h&step=1m", "", 400)
	if p := c.expect("GET", "/api/v1/stats/pareto?from=1h", "", 200); !strings.Contains(p, `"class":"scratch","count":1`) {
		t.Fatalf("pareto: %s", p)
	}
	if p := c.expect("GET", "/api/v1/stats/pareto?from=1h&camera=cam0", "", 200); !strings.Contains(p, `"class":"scratch","count":1`) {
		t.Fatalf("pareto by camera: %s", p)
	}
	if l := c.expect("GET", "/api/v1/stats/latency?from=1h", "", 200); !strings.Contains(l, `"count":4`) {
		t.Fatalf("latency: %s", l)
	}
	c.expect("GET", "/api/v1/stats/latency?from=yesterday", "", 400)
}

func bgrFrame(w, h int) *frame.Frame {
	f := &frame.Frame{Camera: "cam0", Width: w, Height: h, Stride: 3 * w, Pix: make([]byte, 3*w*h)}
	for i := range f.Pix {
		f.Pix[i] = byte(i)
	}
	return f
}

func TestLiveFrameMJPEGAndStream(t *testing.T) {
	h := newHarness(t)
	c := h.login("olga")
	c.expect("GET", "/api/v1/cameras/cam0/frame.jpg", "", 404)
	c.expect("GET", "/api/v1/cameras/nope/frame.jpg", "", 404)

	// Subscribe before the verdict arrives.
	req, err := http.NewRequest("GET", h.ts.URL+"/api/v1/verdicts/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(c.jar[sessionCookie])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the verdict stream", resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream content type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	if _, err := rd.ReadString('\n'); err != nil { // retry:
		t.Fatal(err)
	}

	v := verdict(41, defects.Fail, "scratch", time.Now())
	must(t, h.srv.Live().Write(context.Background(), &inspect.Result{Verdict: v, Frame: bgrFrame(1920, 1080)}))
	var event []string
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\n" && len(event) > 0 {
			break
		}
		if line != "\n" {
			event = append(event, strings.TrimSpace(line))
		}
	}
	if event[0] != "id: cam0/41" || event[1] != "event: verdict" || !strings.Contains(event[2], `"outcome":"FAIL"`) {
		t.Fatalf("event: %q", event)
	}

	resp2, jpg := c.do("GET", "/api/v1/cameras/cam0/frame.jpg", "")
	if resp2.StatusCode != 200 || resp2.Header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(jpg, "\xff\xd8") {
		t.Fatalf("frame.jpg: %d %q", resp2.StatusCode, resp2.Header.Get("Content-Type"))
	}

	mreq, err := http.NewRequestWithContext(ctx, "GET", h.ts.URL+"/api/v1/cameras/cam0/live.mjpeg", nil)
	if err != nil {
		t.Fatal(err)
	}
	mreq.AddCookie(c.jar[sessionCookie])
	mresp, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the MJPEG stream", mresp.Body)
	if !strings.HasPrefix(mresp.Header.Get("Content-Type"), "multipart/x-mixed-replace; boundary=frame") {
		t.Fatalf("mjpeg content type %q", mresp.Header.Get("Content-Type"))
	}
	mr := bufio.NewReader(mresp.Body)
	head := ""
	for !strings.HasSuffix(head, "\r\n\r\n") {
		line, err := mr.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		head += line
	}
	if !strings.HasPrefix(head, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ") {
		t.Fatalf("mjpeg part head %q", head)
	}
	if cams := c.expect("GET", "/api/v1/cameras", "", 200); !strings.Contains(cams, `"seq":41`) {
		t.Fatalf("cameras: %s", cams)
	}
}

func TestSlowStreamClientIsDroppedWithoutBlocking(t *testing.T) {
	b := newBroadcaster()
	slow := b.subscribe("")
	done := make(chan struct{})
	go func() {
		for i := 0; i < subscriberBuffer+10; i++ {
			b.publish([]byte("x"), "cam0")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("publish blocked on a client that does not read")
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the slow client should have been dropped")
	}
	if n, dropped := b.stats(); n != 0 || dropped != 1 {
		t.Fatalf("clients %d dropped %d", n, dropped)
	}
}

func TestAlarmsRaiseAckAndClear(t *testing.T) {
	h := newHarness(t)
	h.app.setSystem(System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "reconnecting", LastError: "read timeout"}},
		Disk: DiskInfo{TotalBytes: 100, FreeBytes: 2}, Degraded: []string{"journal cannot commit"}})
	h.srv.checkAlarms()
	c := h.login("olga")
	list := c.expect("GET", "/api/v1/alarms", "", 200)
	if !strings.Contains(list, `"id":"camera_down:cam0"`) || !strings.Contains(list, `"disk_full"`) || !strings.Contains(list, "read timeout") ||
		!strings.Contains(list, `"id":"degraded","kind":"degraded","severity":"critical","message":"journal cannot commit"`) {
		t.Fatalf("alarms: %s", list)
	}
	c.expect("POST", "/api/v1/alarms/nope/ack", "", 404)
	if a := c.expect("POST", "/api/v1/alarms/camera_down:cam0/ack", "", 200); !strings.Contains(a, `"acknowledged_by":"olga"`) {
		t.Fatalf("ack: %s", a)
	}
	h.app.setSystem(System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "connected"}}})
	h.srv.checkAlarms()
	if list := c.expect("GET", "/api/v1/alarms", "", 200); list != "[]\n" {
		t.Fatalf("cleared conditions should leave no alarms: %s", list)
	}
}

func TestMetricsExposition(t *testing.T) {
	h := newHarness(t)
	must(t, h.srv.Live().Write(context.Background(), &inspect.Result{Verdict: verdict(1, defects.Pass, "good", time.Now())}))
	resp, body := h.anon().do("GET", "/metrics", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"# TYPE linesight_ready gauge\nlinesight_ready 1\n",
		"# TYPE linesight_frames_total counter\nlinesight_frames_total{camera=\"cam0\"} 7\n",
		`linesight_verdicts_total{camera="cam0",outcome="PASS"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q:\n%s", want, body)
		}
	}
	var p Prom
	p.Gauge("g", "h", Labels{"l": "a\"b\\c\nd"}, 1)
	if got := p.buf.String(); !strings.Contains(got, `g{l="a\"b\\c\nd"} 1`) {
		t.Fatalf("label escaping: %s", got)
	}
}

func TestHealthAndPlaceholderUI(t *testing.T) {
	h := newHarness(t)
	a := h.anon()
	a.expect("GET", "/healthz", "", 200)
	a.expect("GET", "/readyz", "", 200)
	h.app.setSystem(System{State: "starting"})
	a.expect("GET", "/readyz", "", 503)
	// Inspecting, but not keeping its promises: not ready, and it says why.
	h.app.setSystem(System{State: "ready", Degraded: []string{"journal cannot commit (no space left on device)"}})
	if body := a.expect("GET", "/readyz", "", 503); body != "degraded: journal cannot commit (no space left on device)\n" {
		t.Errorf("readyz while degraded: %q", body)
	}
	if page := a.expect("GET", "/", "", 200); !strings.Contains(page, "LineSight") {
		t.Fatal("placeholder page")
	}
}

func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, "127.0.0.1:0", h.srv, certFile, keyFile, h.srv.log, func(a net.Addr) { addrc <- a })
	}()
	addr := <-addrc
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := cl.Get("https://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("https healthz: %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + addr.String() + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP must not be served when TLS is on")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func writeCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "linesight"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestServesDashboardFiles(t *testing.T) {
	files := fstest.MapFS{
		"static/index.html": {Data: []byte("<title>dash</title>")},
		"static/js/app.js":  {Data: []byte("export {}")},
	}
	h := newHarness(t, func(o *Options) { o.UI = files })
	a := h.anon()
	if page := a.expect("GET", "/", "", 200); page != "<title>dash</title>" {
		t.Fatalf("index: %q", page)
	}
	if js := a.expect("GET", "/ui/js/app.js", "", 200); js != "export {}" {
		t.Fatalf("app.js: %q", js)
	}
	a.expect("GET", "/ui/js/", "", 404)
	a.expect("GET", "/ui/missing.js", "", 404)
}

// The outbox alarms speak of a link that exists: without a broker nothing
// is queued, so neither a backlog nor expired verdicts raise one.
func TestOutboxAlarms(t *testing.T) {
	h := newHarness(t)
	c := h.login("olga")
	recent, old := time.Now().Add(-time.Minute), time.Now().Add(-time.Hour)
	outbox := OutboxInfo{Pending: 5000, Limit: 100000, MaxAge: time.Minute, Expired: 9708, LastExpired: recent}
	for _, tc := range []struct {
		name        string
		broker      BrokerInfo
		lastExpired time.Time
		want        []string
	}{
		{"not configured", BrokerInfo{}, recent, nil},
		{"configured", BrokerInfo{Configured: true, Connected: true}, recent, []string{"outbox_backlog", "outbox_expired"}},
		{"expired long ago", BrokerInfo{Configured: true, Connected: true}, old, []string{"outbox_backlog"}},
	} {
		o := outbox
		o.LastExpired = tc.lastExpired
		h.app.setSystem(System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "connected"}}, Broker: tc.broker, Outbox: o})
		h.srv.checkAlarms()
		var list []Alarm
		if err := json.Unmarshal([]byte(c.expect("GET", "/api/v1/alarms", "", 200)), &list); err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, a := range list {
			kinds = append(kinds, a.Kind)
			if a.Kind == "outbox_expired" && (!strings.Contains(a.Message, "9708 verdicts") || !strings.Contains(a.Message, "never published")) {
				t.Errorf("%s: message %q", tc.name, a.Message)
			}
		}
		sort.Strings(kinds)
		if !slices.Equal(kinds, tc.want) {
			t.Errorf("%s: alarms %v, want %v", tc.name, kinds, tc.want)
		}
	}
}

// Try it and the journal's Rescore are one rule: on the same records and
// the same edited file they re-score, skip and flip alike.
func TestTryClassesAgreesWithJournalRescore(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	add := func(seq uint64, v defects.Verdict) {
		v.Seq, v.PartID = seq, fmt.Sprintf("P-%d", seq)
		h.record(v)
	}
	add(1, verdict(1, defects.Pass, "good", now.Add(1*time.Second)))
	dented := verdict(2, defects.Pass, "good", now.Add(2*time.Second))
	dented.Embedding = embed("a photo of a dented part")
	add(2, dented)
	unnamed := verdict(3, defects.Pass, "good", now.Add(3*time.Second))
	unnamed.ModelDigest = "" // no model named: not re-scored
	add(3, unnamed)
	other := verdict(4, defects.Pass, "good", now.Add(4*time.Second))
	other.ModelDigest = "another-model"
	add(4, other)
	add(5, verdict(5, defects.Missed, "", now.Add(5*time.Second)))
	anomalous := verdict(6, defects.Pass, "good", now.Add(6*time.Second))
	anomalous.ApplyAnomaly(&defects.Anomaly{Score: 0.4, Threshold: 0.3})
	add(6, anomalous)

	edited := strings.Replace(classesYAML, "cameras:", `      - name: dent
        prompts: ["a photo of a dented part"]
        threshold: 0.5
    anomaly: {zero_shot: true, threshold: 0.5}
cameras:`, 1)
	req, err := json.Marshal(map[string]any{"yaml": edited, "last": 100})
	if err != nil {
		t.Fatal(err)
	}
	var try struct {
		Rescored, Skipped int
		Before, After     journal.Counts
		Flipped           int
	}
	must(t, json.Unmarshal([]byte(h.login("erik").expect("POST", "/api/v1/classes/try", string(req), 200)), &try))

	f, err := defects.Parse("classes.yaml", []byte(edited))
	must(t, err)
	scorers, err := h.classes.Prepare(f)
	must(t, err)
	rep, err := h.journal.Rescore(time.Time{}, time.Time{}, func(camera string) *defects.Scorer { return scorers[camera] })
	must(t, err)
	flipped := 0
	for _, fl := range rep.Flips {
		flipped += fl.Count
	}
	got := fmt.Sprintf("%d %d %+v %+v %d", try.Rescored, try.Skipped, try.Before, try.After, try.Flipped)
	want := fmt.Sprintf("%d %d %+v %+v %d", rep.Rescored, rep.Skipped, rep.Before, rep.After, flipped)
	if got != want {
		t.Errorf("Try it: %s\njournal: %s", got, want)
	}
	// Records 1, 2 and 6 are re-scored: 2 FAILs as dent, 6's anomaly
	// score is under the new threshold.
	if rep.Rescored != 3 || rep.Skipped != 3 || flipped != 2 {
		t.Errorf("journal rescore: %+v", rep)
	}
}

// With the appliance's monitor journaling its events, the dashboard's
// acknowledgement lands in the journal beside the raise and the clear, and
// the history endpoint lists them newest first.
func TestAlarmHistoryFromTheJournal(t *testing.T) {
	var h *harness
	var mon *health.Monitor
	h = newHarness(t, func(o *Options) {
		mon = health.NewMonitor(func() System { return o.App.System() }, func(e journal.AlarmEvent) error { return h.journal.AddAlarmEvent(e) }, nil, nil)
		o.Alarms = mon
	})
	h.app.setSystem(System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "reconnecting"}}})
	mon.Check()
	c := h.login("olga")
	c.expect("POST", "/api/v1/alarms/camera_down:cam0/ack", "", 200)
	h.app.setSystem(System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "connected"}}})
	mon.Check()

	body := c.expect("GET", "/api/v1/alarms/history?from=1h", "", 200)
	var events []journal.AlarmEvent
	if err := json.Unmarshal([]byte(body), &events); err != nil {
		t.Fatal(err)
	}
	var seq []string
	for _, e := range events {
		seq = append(seq, e.Event+" "+e.ID+" "+e.By)
	}
	want := []string{"cleared camera_down:cam0 ", "acknowledged camera_down:cam0 olga", "raised camera_down:cam0 "}
	if !slices.Equal(seq, want) {
		t.Errorf("history %q, want %q", seq, want)
	}
	c.expect("GET", "/api/v1/alarms/history?from=yesterday", "", 400)
	h.anon().expect("GET", "/api/v1/alarms/history", "", 401)
}
