package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

func goldenPNG(t *testing.T, shade uint8) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 48, 40))
	for i := range img.Pix {
		img.Pix[i] = shade + uint8(i%7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// goldenHarness is the server with a golden manager over the set "parts"
// (golden samples on, threshold auto) and no model: the samples are kept,
// the bank waits.
func goldenHarness(t *testing.T) (*harness, *golden.Manager) {
	m := golden.NewManager(golden.NewStore(t.TempDir(), nil), nil, slog.New(slog.DiscardHandler))
	m.SetSets([]golden.SetConfig{{Name: "parts", Anomaly: &defects.AnomalySettings{Golden: true}}})
	h := newHarness(t, func(o *Options) { o.Golden = m })
	return h, m
}

type goldenList struct {
	Sets []golden.SetStatus `json:"sets"`
}

func TestGoldenAPIRolesAndErrors(t *testing.T) {
	h, m := goldenHarness(t)
	olga, erik := h.login("olga"), h.login("erik")
	pic := goldenPNG(t, 10)

	// Reading is for anyone logged in; changing for engineers and admins.
	h.anon().expect("GET", "/api/v1/golden", "", 401)
	if resp, body := olga.do("POST", "/api/v1/golden/parts", pic, "Content-Type", "image/png"); resp.StatusCode != 403 {
		t.Errorf("operator upload: %d %s", resp.StatusCode, body)
	}
	resp, body := erik.do("POST", "/api/v1/golden/parts", pic, "Content-Type", "image/png")
	if resp.StatusCode != 201 {
		t.Fatalf("engineer upload: %d %s", resp.StatusCode, body)
	}
	var smp golden.Sample
	if err := json.Unmarshal([]byte(body), &smp); err != nil {
		t.Fatal(err)
	}

	var list goldenList
	if err := json.Unmarshal([]byte(olga.expect("GET", "/api/v1/golden", "", 200)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Sets) != 1 || list.Sets[0].Set != "parts" || !list.Sets[0].Enabled || !list.Sets[0].Auto ||
		list.Sets[0].Threshold != nil || len(list.Sets[0].Samples) != 1 || list.Sets[0].Samples[0].AddedBy != "erik" || list.Sets[0].Samples[0].Source != "file" {
		t.Errorf("list %+v", list)
	}
	// The raw shape: threshold and loo_score are null, not absent.
	raw := olga.expect("GET", "/api/v1/golden", "", 200)
	if !strings.Contains(raw, `"threshold":null`) || !strings.Contains(raw, `"loo_score":null`) || !strings.Contains(raw, `"progress":{"done":0,"total":0}`) {
		t.Errorf("list JSON %s", raw)
	}
	resp, img := olga.do("GET", "/api/v1/golden/parts/"+smp.ID+".jpg", "")
	if resp.StatusCode != 200 || img != pic || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("image: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(img))
	}

	for _, c := range []struct {
		method, path, body, ctype string
		status                    int
		words                     string
	}{
		{"POST", "/api/v1/golden/parts", pic, "image/png", 409, "already a golden sample"},
		{"POST", "/api/v1/golden/parts", "not an image at all", "image/png", 400, "not a JPEG or PNG"},
		{"POST", "/api/v1/golden/parts", pic, "text/plain", 400, "image/jpeg or image/png"},
		{"POST", "/api/v1/golden/nuts", goldenPNG(t, 50), "image/png", 400, "not a class set"},
		{"DELETE", "/api/v1/golden/parts/0000000000000000", "", "", 404, "has no sample"},
		{"GET", "/api/v1/golden/parts/0000000000000000.jpg", "", "", 404, "has no golden sample"},
		{"POST", "/api/v1/golden/parts/from-live/cam9", "", "", 404, "no camera"},
		{"POST", "/api/v1/golden/parts/from-live/cam0", "", "", 409, "no live frame"},
		{"POST", "/api/v1/golden/parts/from-record/999", "", "", 404, "no record 999"},
	} {
		var hdr []string
		if c.ctype != "" {
			hdr = []string{"Content-Type", c.ctype}
		}
		resp, body := erik.do(c.method, c.path, c.body, hdr...)
		var e struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Errorf("%s %s: %d %s is not a JSON error: %v", c.method, c.path, resp.StatusCode, body, err)
		}
		if resp.StatusCode != c.status || !strings.Contains(e.Message, c.words) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, resp.StatusCode, body, c.status, c.words)
		}
	}

	if resp, _ := olga.do("DELETE", "/api/v1/golden/parts/"+smp.ID, ""); resp.StatusCode != 403 {
		t.Errorf("operator delete: %d", resp.StatusCode)
	}
	erik.expect("DELETE", "/api/v1/golden/parts/"+smp.ID, "", 200)
	if st, err := m.Status(); err != nil {
		t.Fatal(err)
	} else if len(st[0].Samples) != 0 {
		t.Errorf("after delete: %+v", st)
	}
	// Changes are audited with who and what.
	entries, err := h.store.AuditLog(10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "golden.") {
			actions = append(actions, e.User+" "+e.Action+" "+e.Detail)
		}
	}
	want := []string{"erik golden.remove set parts: sample " + smp.ID, "erik golden.add set parts: sample " + smp.ID + " from an upload"}
	if strings.Join(actions, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
}

// from-live takes the camera's frame without the verdict drawn on it;
// from-record takes a PASS record's stored image and refuses a FAIL.
func TestGoldenFromLiveAndRecord(t *testing.T) {
	h, m := goldenHarness(t)
	erik := h.login("erik")
	f := bgrFrame(64, 48)
	for i := range f.Pix {
		f.Pix[i] = 90
	}
	if err := h.srv.Live().Write(context.Background(), &inspect.Result{Verdict: defects.Verdict{Camera: "cam0", Seq: 1, Outcome: defects.Fail, Class: "scratch"}, Frame: f}); err != nil {
		t.Fatal(err)
	}
	resp, body := erik.do("POST", "/api/v1/golden/parts/from-live/cam0", "")
	if resp.StatusCode != 201 {
		t.Fatalf("from-live: %d %s", resp.StatusCode, body)
	}
	var smp golden.Sample
	if err := json.Unmarshal([]byte(body), &smp); err != nil {
		t.Fatal(err)
	}
	_, data, err := m.Image("parts", smp.ID)
	if err != nil || smp.Source != golden.SourceLive {
		t.Fatalf("live sample %+v: %v", smp, err)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("live sample image: %v", err)
	}
	// The overlay's frame is red (FAIL) at the border; the sample is the
	// camera's grey.
	for _, p := range []image.Point{{0, 0}, {63, 47}, {32, 2}} {
		r, g, b, _ := img.At(p.X, p.Y).RGBA()
		if d := int(r>>8) - int(b>>8); d > 8 || d < -8 || int(g>>8) < 80 || int(g>>8) > 100 {
			t.Errorf("pixel %v is %d,%d,%d: the verdict overlay is in the sample", p, r>>8, g>>8, b>>8)
		}
	}

	at := time.Now()
	for i, o := range []defects.Outcome{defects.Pass, defects.Fail} {
		f := bgrFrame(64, 48)
		for j := range f.Pix {
			f.Pix[j] = uint8(30 + 40*i + j%5)
		}
		before := h.journal.Stats().Written
		if err := h.journal.Write(context.Background(), &inspect.Result{Verdict: defects.Verdict{Camera: "cam0", Seq: uint64(10 + i), CapturedAt: at.Add(time.Duration(i) * time.Second), Outcome: o, Class: "x"}, Frame: f}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for h.journal.Stats().Written == before && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
	}
	page, err := h.journal.Query(journalQueryAll())
	if err != nil || len(page.Records) != 2 {
		t.Fatalf("records %+v %v", page, err)
	}
	var pass, fail uint64
	for _, r := range page.Records {
		if r.Outcome == defects.Pass {
			pass = r.ID
		} else {
			fail = r.ID
		}
	}
	resp, body = erik.do("POST", "/api/v1/golden/parts/from-record/"+itoa(fail), "")
	if resp.StatusCode != 409 || !strings.Contains(body, "not labelled good") {
		t.Errorf("from a FAIL record: %d %s", resp.StatusCode, body)
	}
	// A false reject confirmed good may be one.
	erik.expect("PUT", "/api/v1/records/"+itoa(fail)+"/label", `{"correct": false, "class": "good"}`, 200)
	if resp, body = erik.do("POST", "/api/v1/golden/parts/from-record/"+itoa(fail), ""); resp.StatusCode != 201 && resp.StatusCode != 200 {
		t.Errorf("from a FAIL record labelled good: %d %s", resp.StatusCode, body)
	}
	resp, body = erik.do("POST", "/api/v1/golden/parts/from-record/"+itoa(pass), "")
	if resp.StatusCode != 201 {
		t.Fatalf("from a PASS record: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), &smp); err != nil {
		t.Fatal(err)
	}
	if smp.Source != golden.SourceRecord || smp.RecordID != pass {
		t.Errorf("record sample %+v", smp)
	}
}

func journalQueryAll() journal.Query { return journal.Query{Oldest: true, Limit: 10} }

func itoa(id uint64) string { return strconv.FormatUint(id, 10) }
