package cli

import (
	"encoding/json"
	"testing"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
	"github.com/linesight/linesight/internal/testenv"
)

// TestRunServesThePLCLink runs `linesight run` against a real mosquitto: the
// status is born retained, a trigger from a PLC-like client drives an
// inspection whose verdict comes back on MQTT, a malformed trigger gets an
// error message, and a clean stop leaves the status offline.
func TestRunServesThePLCLink(t *testing.T) {
	testenv.RequireORT(t)
	broker := mosquitto.Start(t, nil)
	cfg := runConfig{
		Cameras: triggeredCam0,
		Broker:  broker.URL(),
		Rest:    "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)
	plc, msgs := recordPLC(t, broker.URL())
	a := launchAppliance(t, cfg)

	msgs.wait(t, "linesight/l1/status", `"ready"`)
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P-42"}`).Wait()
	raw := msgs.wait(t, "linesight/l1/cam0/verdict", `"P-42"`)
	var v map[string]any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	if v["camera"] != "cam0" || v["outcome"] == nil || v["model_digest"] == nil {
		t.Errorf("verdict payload: %s", raw)
	}
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":`).Wait()
	msgs.wait(t, "linesight/l1/cam0/error", "malformed")

	if code := a.stop(t); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, a.Log.String())
	}
	msgs.wait(t, "linesight/l1/status", `"offline"`)
}
