package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
)

// TestTriggerPathsJudgeAlike runs the appliance with its PLC link and web
// server: a PLC's MQTT trigger and `linesight trigger` (through the HTTP
// API) are judged by one rule, so what one refuses the other refuses, and a
// good trigger from the command line still inspects the part.
func TestTriggerPathsJudgeAlike(t *testing.T) {
	broker := mosquitto.Start(t, nil)
	model := synth(t, 1, "fp32")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(offlineDefects), 0o644)
	cfg := filepath.Join(dir, "linesight.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`line: l1
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: cam0
    mode: triggered
    source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}
mqtt: {broker: %q, client_id: appliance-under-test}
web: {listen: "127.0.0.1:0"}
journal: {flush_interval: 20ms}
`, model, broker.URL())), 0o644)
	mustRun(t, "olga-password\n", "user", "add", "--config", cfg, "--name", "olga", "--role", "operator")

	var mu sync.Mutex
	got := map[string][]string{}
	plc := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("plc"))
	if tok := plc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer plc.Disconnect(100)
	plc.Subscribe("linesight/l1/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got[m.Topic()] = append(got[m.Topic()], string(m.Payload()))
		mu.Unlock()
	}).Wait()
	waitMsg := func(topic, contains string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, p := range got[topic] {
				if strings.Contains(p, contains) {
					mu.Unlock()
					return
				}
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no message on %s containing %q; got %v", topic, contains, got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"run", "--config", cfg}, Stdio{In: strings.NewReader(""), Out: &lockedBuffer{}, Err: &errb})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("run did not stop")
		}
	}()
	// The port is the one the server bound (listen :0), read from its log.
	listening := regexp.MustCompile(`"web server listening" url=(\S+)/`)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if m := listening.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the web server did not start:\n%s", errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d:\n%s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	waitMsg("linesight/l1/status", `"ready"`)

	// The PLC's way.
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"PART_ID":"P-1"}`).Wait()
	waitMsg("linesight/l1/cam0/error", `unknown key \"PART_ID\"`)
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P\u001bX"}`).Wait()
	waitMsg("linesight/l1/cam0/error", "U+001B")

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
	waitMsg("linesight/l1/cam0/verdict", `"part_id":"P-7"`)
	mu.Lock()
	defer mu.Unlock()
	for _, v := range got["linesight/l1/cam0/verdict"] {
		if !strings.Contains(v, `"part_id":"P-7"`) {
			t.Errorf("a verdict for a refused trigger: %s", v)
		}
	}
}
