package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
)

// TestRunServesThePLCLink runs `linesight run` against a real mosquitto: the
// status is born retained, a trigger from a PLC-like client drives an
// inspection whose verdict comes back on MQTT, a malformed trigger gets an
// error message, and a clean stop leaves the status offline.
func TestRunServesThePLCLink(t *testing.T) {
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
journal: {flush_interval: 20ms}
web: {listen: "127.0.0.1:0"} # not the default 8080, which another program may hold
`, model, broker.URL())), 0o644)

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
	waitMsg := func(topic, contains string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, p := range got[topic] {
				if strings.Contains(p, contains) {
					mu.Unlock()
					return p
				}
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no message on %s containing %q; got %v", topic, contains, got)
		return ""
	}

	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"run", "--config", cfg}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	}()

	waitMsg("linesight/l1/status", `"ready"`)
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P-42"}`).Wait()
	raw := waitMsg("linesight/l1/cam0/verdict", `"P-42"`)
	var v map[string]any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	if v["camera"] != "cam0" || v["outcome"] == nil || v["model_digest"] == nil {
		t.Errorf("verdict payload: %s", raw)
	}
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":`).Wait()
	waitMsg("linesight/l1/cam0/error", "malformed")

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run exited %d:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	waitMsg("linesight/l1/status", `"offline"`)
}
