package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

// The strip of the newest FAIL and UNCERTAIN parts keeps every reject,
// however few frames the live view keeps, the newest first, up to its size,
// each with a small picture and the size of the frame its map refers to.
func TestLiveRejectsStrip(t *testing.T) {
	// One live frame per 1000 s: the strip must not depend on it.
	live := NewLive(LiveOptions{MaxFPS: 0.001, Rejects: 3, ThumbSide: 160})
	h := newHarness(t, func(o *Options) { o.Live, o.Kiosk = live, true })
	kiosk := h.anon()
	if got := kiosk.expect("GET", "/api/v1/live/rejects", "", 200); strings.TrimSpace(got) != "[]" {
		t.Fatalf("before any verdict: %s, want []", got)
	}
	now := time.Now()
	outcomes := []defects.Outcome{defects.Fail, defects.Pass, defects.Uncertain, defects.Fail, defects.Pass, defects.Fail, defects.Missed}
	for i, o := range outcomes {
		v := verdict(uint64(i+1), o, "scratch", now.Add(time.Duration(i)*time.Second))
		if o == defects.Fail && i == 5 {
			v.Class, v.Confidence = defects.AnomalyClass, 0.42
			v.Anomaly = &defects.Anomaly{Score: 0.42, Threshold: 0.3, Region: &defects.Region{X: 10, Y: 20, W: 30, H: 40}}
		}
		r := &inspect.Result{Verdict: v}
		if o != defects.Missed {
			r.Frame = bgrFrame(640, 480)
		}
		must(t, live.Write(context.Background(), r))
	}
	var list []struct {
		ID          uint64          `json:"id"`
		Seq         uint64          `json:"seq"`
		Outcome     defects.Outcome `json:"outcome"`
		Class       string          `json:"class"`
		Scores      any             `json:"scores"`
		Anomaly     *defects.Anomaly
		ThumbURL    string `json:"thumb_url"`
		FrameWidth  int    `json:"frame_width"`
		FrameHeight int    `json:"frame_height"`
	}
	must(t, json.Unmarshal([]byte(kiosk.expect("GET", "/api/v1/live/rejects", "", 200)), &list))
	var seqs []uint64
	for _, r := range list {
		seqs = append(seqs, r.Seq)
		if r.FrameWidth != 640 || r.FrameHeight != 480 || r.Scores != nil {
			t.Errorf("reject #%d: frame %dx%d, scores %v; want 640x480 without scores", r.Seq, r.FrameWidth, r.FrameHeight, r.Scores)
		}
	}
	if fmt.Sprint(seqs) != "[6 4 3]" {
		t.Fatalf("strip holds %v, want the newest three rejects [6 4 3]", seqs)
	}
	if a := list[0].Anomaly; list[0].Class != defects.AnomalyClass || a == nil || a.Region == nil || a.Region.W != 30 {
		t.Errorf("anomaly reject: class %q, anomaly %+v", list[0].Class, a)
	}
	resp, pic := kiosk.do("GET", list[0].ThumbURL, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("picture of reject: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader([]byte(pic)))
	if err != nil || cfg.Width != 160 || cfg.Height != 120 {
		t.Fatalf("picture of reject: %v %dx%d, want 160x120", err, cfg.Width, cfg.Height)
	}
	// The first reject has left the strip: its picture is gone with it.
	kiosk.expect("GET", "/api/v1/live/rejects/1.jpg", "", 404)
	kiosk.expect("GET", "/api/v1/live/rejects/x.jpg", "", 404)
}

// A live frame says how large the camera's frame was before the view
// scaled it: the anomaly map's window is placed in those pixels.
func TestLiveFrameSaysItsSourceSize(t *testing.T) {
	live := NewLive(LiveOptions{MaxSide: 400})
	h := newHarness(t, func(o *Options) { o.Live = live })
	c := h.login("olga")
	must(t, live.Write(context.Background(), &inspect.Result{Verdict: verdict(1, defects.Pass, "good", time.Now()), Frame: bgrFrame(1280, 960)}))
	resp, body := c.do("GET", "/api/v1/cameras/cam0/frame.jpg", "")
	if resp.StatusCode != 200 {
		t.Fatalf("frame: %d", resp.StatusCode)
	}
	cfg, err := jpeg.DecodeConfig(strings.NewReader(body))
	if err != nil || cfg.Width != 400 {
		t.Fatalf("frame: %v, %d wide, want scaled to 400", err, cfg.Width)
	}
	if got := resp.Header.Get(FrameSizeHeader); got != "1280x960" {
		t.Fatalf("%s: %q, want 1280x960", FrameSizeHeader, got)
	}
}

// /classes says which set each camera scores with, by the appliance's own
// rule, so the dashboard can name the set of a camera's golden samples.
func TestClassesNameEachCamerasSet(t *testing.T) {
	h := newHarness(t)
	h.app.setSystem(System{State: "ready", Line: "l1", Cameras: []CameraInfo{{ID: "cam0"}, {ID: "cam1"}}})
	must(t, os.WriteFile(h.classes.path, []byte(strings.Replace(classesYAML, "cameras:\n  default: parts\n",
		"  other:\n    good: {prompts: [\"a good one\"], threshold: 0.5}\n    defects:\n      - {name: dent, prompts: [\"a dent\"], threshold: 0.5}\ncameras:\n  default: parts\n  l1/cam1: other\n", 1)), 0o644))
	var out struct {
		CameraSets map[string]string `json:"camera_sets"`
	}
	must(t, json.Unmarshal([]byte(h.login("olga").expect("GET", "/api/v1/classes", "", 200)), &out))
	if fmt.Sprint(out.CameraSets) != "map[cam0:parts cam1:other]" {
		t.Fatalf("camera_sets %v, want cam0 on parts (default) and cam1 on other", out.CameraSets)
	}
}

// The Pareto counts anomaly FAILs like those of any class.
func TestParetoCountsAnomaly(t *testing.T) {
	h := newHarness(t)
	now := time.Now().Add(-time.Minute)
	for i := uint64(1); i <= 3; i++ {
		v := verdict(i, defects.Fail, defects.AnomalyClass, now.Add(time.Duration(i)*time.Second))
		v.Anomaly = &defects.Anomaly{Score: 0.5, Threshold: 0.3}
		if i == 3 {
			v.Class, v.Anomaly = "scratch", nil
		}
		h.record(v)
	}
	c := h.login("olga")
	for _, q := range []string{"", "&camera=cam0"} {
		p := c.expect("GET", "/api/v1/stats/pareto?from=1h"+q, "", 200)
		if !strings.Contains(p, `"class":"anomaly","count":2`) || !strings.Contains(p, `"class":"scratch","count":1`) || !strings.Contains(p, `"total_fail":3`) {
			t.Errorf("pareto%s: %s, want anomaly 2 and scratch 1", q, p)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The live views carry a verdict's anomaly map (never the MQTT payload's
// business): the frame's verdict header, the stream's events and the strip.
func TestLiveViewsCarryTheAnomalyMap(t *testing.T) {
	live := NewLive(LiveOptions{})
	h := newHarness(t, func(o *Options) { o.Live = live })
	c := h.login("olga")
	sub := live.bus.subscribe("")
	defer live.bus.unsubscribe(sub)
	v := verdict(1, defects.Fail, defects.AnomalyClass, time.Now())
	v.Anomaly = &defects.Anomaly{Score: 0.6, Threshold: 0.3, Region: &defects.Region{X: 1, Y: 2, W: 3, H: 4},
		Grid: 2, Map: []uint8{0, 255, 10, 20}, Window: &defects.Region{X: 40, Y: 0, W: 240, H: 240}, Box: &defects.Region{X: 160, Y: 0, W: 120, H: 120}}
	must(t, live.Write(context.Background(), &inspect.Result{Verdict: v, Frame: bgrFrame(320, 240)}))
	const want = `"anomaly_map":{"grid":2,"values":[0,255,10,20],"window":{"x":40,"y":0,"w":240,"h":240},"box":{"x":160,"y":0,"w":120,"h":120}}`
	select {
	case ev := <-sub.ch:
		if !strings.Contains(string(ev), want) {
			t.Errorf("stream event %s, want %s", ev, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no stream event")
	}
	resp, _ := c.do("GET", "/api/v1/cameras/cam0/frame.jpg", "")
	if hdr, err := url.PathUnescape(resp.Header.Get(VerdictHeader)); err != nil {
		t.Errorf("frame verdict header: %v", err)
	} else if !strings.Contains(hdr, want) {
		t.Errorf("frame verdict header %s, want %s", hdr, want)
	}
	if list := c.expect("GET", "/api/v1/live/rejects", "", 200); !strings.Contains(list, want) {
		t.Errorf("rejects %s, want %s", list, want)
	}
}
