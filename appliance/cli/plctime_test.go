package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
)

// A PLC's trigger over real mosquitto that gives its own time (epoch
// milliseconds) is judged on the frame nearest to it: the verdict carries
// that time and the frame's offset from it. A bad time is answered on the
// error topic, saying what is accepted.
func TestRunTakesThePLCsTimeOverMQTT(t *testing.T) {
	broker := mosquitto.Start(t, nil)
	cfg := runConfig{
		Cameras: `  - id: cam0
    mode: triggered
    source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}
`,
		Broker: broker.URL(),
		Rest:   "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)
	plc, msgs := recordPLC(t, broker.URL())
	a := launchAppliance(t, cfg)
	msgs.wait(t, "linesight/l1/status", `"ready"`)

	at := time.Now().Add(-120 * time.Millisecond).Truncate(time.Millisecond)
	plc.Publish("linesight/l1/cam0/trigger", 1, false, fmt.Sprintf(`{"part_id":"P-at","at":%d}`, at.UnixMilli())).Wait()
	raw := msgs.wait(t, "linesight/l1/cam0/verdict", `"P-at"`)
	var v struct {
		Outcome       string    `json:"outcome"`
		CapturedAt    time.Time `json:"captured_at"`
		TriggeredAt   time.Time `json:"triggered_at"`
		FrameOffsetMS *float64  `json:"frame_offset_ms"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	// 30 frames a second: the nearest frame is within 17 ms of the time,
	// give or take the scheduler; always within the 200 ms window.
	if v.Outcome == "MISSED" || !v.TriggeredAt.Equal(at) || v.FrameOffsetMS == nil || *v.FrameOffsetMS < -200 || *v.FrameOffsetMS > 200 {
		t.Errorf("verdict for a part 120 ms ago: %s", raw)
	}
	if off := float64(v.CapturedAt.Sub(at)) / float64(time.Millisecond); v.FrameOffsetMS != nil && (off-*v.FrameOffsetMS > 0.01 || *v.FrameOffsetMS-off > 0.01) {
		t.Errorf("frame_offset_ms %g, captured_at - triggered_at %g", *v.FrameOffsetMS, off)
	}

	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P-bad","at":"10:15"}`).Wait()
	e := msgs.wait(t, "linesight/l1/cam0/error", `"P-bad"`)
	if !strings.Contains(e, `"code":"invalid"`) || !strings.Contains(e, "not an RFC 3339 time") {
		t.Errorf("error for a bad at: %s", e)
	}
	if code := a.stop(t); code != 0 {
		t.Fatalf("run exited %d", code)
	}
}
