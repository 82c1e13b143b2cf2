package cli

import (
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
	"github.com/linesight/linesight/internal/testenv"
)

// TestTriggerPathsJudgeAlike runs the appliance with its PLC link and web
// server: a PLC's MQTT trigger and `linesight trigger` (through the HTTP
// API) are judged by one rule, so what one refuses the other refuses, and a
// good trigger from the command line still inspects the part.
func TestTriggerPathsJudgeAlike(t *testing.T) {
	testenv.RequireORT(t)
	broker := mosquitto.Start(t, nil)
	cfg := runConfig{
		Cameras: triggeredCam0,
		Broker:  broker.URL(),
		Rest:    webOnPort0 + "journal: {flush_interval: 20ms}\n",
	}.write(t)
	mustRun(t, "olga-password\n", "user", "add", "--config", cfg, "--name", "olga", "--role", "operator")

	plc, msgs := recordPLC(t, broker.URL())
	// The port is the one the server bound (listen :0), read from its log.
	url := launchAppliance(t, cfg).url(t)
	msgs.wait(t, "linesight/l1/status", `"ready"`)

	// The PLC's way.
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"PART_ID":"P-1"}`).Wait()
	msgs.wait(t, "linesight/l1/cam0/error", `unknown key \"PART_ID\"`)
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P\u001bX"}`).Wait()
	msgs.wait(t, "linesight/l1/cam0/error", "U+001B")

	// The command line's way, through the HTTP API.
	t.Setenv("LINESIGHT_PASSWORD", "olga-password")
	trigger := func(camera, part string) result {
		return run(t, "", "trigger", "--url", url, "--camera", camera, "--part-id", part, "--user", "olga")
	}
	for _, part := range []string{"P\x1bX", "P\u202eX", "P\tX"} {
		if r := trigger("cam0", part); r.code == 0 || !strings.Contains(r.stder, "400") || !strings.Contains(r.stder, "non-printable") {
			t.Errorf("trigger --part-id %q: exit %d: %s; want a refusal naming the character", part, r.code, r.stder)
		}
	}
	if r := trigger("cam9", "P-9"); r.code == 0 || !strings.Contains(r.stder, "404") || !strings.Contains(r.stder, "cam9") {
		t.Errorf("trigger on an unknown camera: exit %d: %s; want 404 naming it", r.code, r.stder)
	}
	if r := trigger("cam0", "P-7"); r.code != 0 {
		t.Fatalf("a good trigger: exit %d: %s", r.code, r.stder)
	}
	msgs.wait(t, "linesight/l1/cam0/verdict", `"part_id":"P-7"`)
	for _, v := range msgs.on("linesight/l1/cam0/verdict") {
		if !strings.Contains(v, `"part_id":"P-7"`) {
			t.Errorf("a verdict for a refused trigger: %s", v)
		}
	}
}
