package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
)

// Two triggered cameras in a part stage, over a real broker: a part both
// cameras see gets one fused verdict on the stage's topic with both views;
// a part one camera never sees is MISSED at the deadline.
func TestPartStageOverMQTT(t *testing.T) {
	broker := mosquitto.Start(t, nil)
	cfg := runConfig{
		Cameras: triggeredCam0 + `  - id: cam1
    mode: triggered
    source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 2}
`,
		Broker: broker.URL(),
		Rest:   "journal: {flush_interval: 20ms}\nparts:\n  - {name: housing, cameras: [cam0, cam1], deadline: 300ms}\n",
	}.write(t)
	plc, msgs := recordPLC(t, broker.URL())
	launchAppliance(t, cfg)
	msgs.wait(t, "linesight/l1/status", `"ready"`)

	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"H-1"}`).Wait()
	plc.Publish("linesight/l1/cam1/trigger", 1, false, `{"part_id":"H-1"}`).Wait()
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"H-2"}`).Wait()

	var h1, h2 struct {
		Camera  string `json:"camera"`
		Outcome string `json:"outcome"`
		View    string `json:"view"`
		Views   []struct {
			Camera  string `json:"camera"`
			Outcome string `json:"outcome"`
			Reason  string `json:"reason"`
		} `json:"views"`
	}
	if err := json.Unmarshal([]byte(msgs.wait(t, "linesight/l1/housing/verdict", `"H-1"`)), &h1); err != nil {
		t.Fatal(err)
	}
	if h1.Camera != "housing" || len(h1.Views) != 2 || h1.Views[0].Camera != "cam0" || h1.Views[1].Camera != "cam1" ||
		h1.Views[0].Outcome == "MISSED" || h1.Views[1].Outcome == "MISSED" {
		t.Errorf("H-1, seen by both: %+v", h1)
	}
	if err := json.Unmarshal([]byte(msgs.wait(t, "linesight/l1/housing/verdict", `"H-2"`)), &h2); err != nil {
		t.Fatal(err)
	}
	if h2.Outcome != "MISSED" && h2.Outcome != "FAIL" {
		t.Errorf("H-2, seen by cam0 alone: %s; want MISSED (or FAIL when cam0's own view fails)", h2.Outcome)
	}
	if len(h2.Views) != 2 || h2.Views[1].Outcome != "MISSED" || !strings.Contains(h2.Views[1].Reason, "deadline") {
		t.Errorf("H-2's cam1 view: %+v; want MISSED by the deadline", h2.Views)
	}
	// Each camera's own verdicts are published too.
	msgs.wait(t, "linesight/l1/cam0/verdict", `"H-2"`)
	msgs.wait(t, "linesight/l1/cam1/verdict", `"H-1"`)
}
