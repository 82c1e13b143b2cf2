package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/journal/tmpfs"
	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
)

// TestRunDegradesOnAFullDisk runs `linesight run` with its data directory
// on a 20 MB tmpfs and fills it: every triggered part still gets its
// verdict on MQTT (flagged "journaled": false), /readyz and the status say
// degraded, no empty image is left, the log says it once, and once space
// is freed the appliance is ready and journals again.
func TestRunDegradesOnAFullDisk(t *testing.T) {
	broker := mosquitto.Start(t, nil)
	model := synth(t, 1, "fp32")
	dir := t.TempDir()
	data := tmpfs.Mount(t, 20<<20)
	os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(offlineDefects), 0o644)
	cfg := filepath.Join(dir, "linesight.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`line: l1
data_dir: %s
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: cam0
    mode: triggered
    source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}
mqtt: {broker: %q, client_id: appliance-under-test}
journal: {flush_interval: 20ms}
web: {listen: "127.0.0.1:0"}
`, data, model, broker.URL())), 0o644)

	var mu sync.Mutex
	verdicts := map[string]map[string]any{} // by part_id
	var statuses []string
	plc := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("plc"))
	if tok := plc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer plc.Disconnect(100)
	plc.Subscribe("linesight/l1/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(m.Topic(), "/status") {
			statuses = append(statuses, string(m.Payload()))
			return
		}
		var v map[string]any
		if strings.HasSuffix(m.Topic(), "/verdict") && json.Unmarshal(m.Payload(), &v) == nil {
			verdicts[v["part_id"].(string)] = v
		}
	}).Wait()
	var errb lockedBuffer // the appliance's log
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s:\n%s", what, errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	verdictFor := func(part string) map[string]any {
		t.Helper()
		plc.Publish("linesight/l1/cam0/trigger", 1, false, fmt.Sprintf(`{"part_id":%q}`, part)).Wait()
		var v map[string]any
		poll("the verdict for "+part, func() bool {
			mu.Lock()
			defer mu.Unlock()
			v = verdicts[part]
			return v != nil
		})
		return v
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"run", "--config", cfg}, Stdio{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &errb})
	}()
	var url string
	listening := regexp.MustCompile(`"web server listening" url=(\S+)/`)
	poll("the web server", func() bool {
		if m := listening.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		}
		return url != ""
	})
	readyz := func() (int, string) {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	poll("ready", func() bool { code, _ := readyz(); return code == http.StatusOK })
	if v := verdictFor("P-0"); v["journaled"] != true {
		t.Fatalf("verdict before the disk fills: %v", v)
	}

	filler := tmpfs.Fill(t, data)
	// Parts keep coming; each one gets its verdict, journaled or not,
	// until the journal says it cannot commit.
	n := 0
	for {
		n++
		verdictFor(fmt.Sprintf("P-%d", n))
		if code, _ := readyz(); code == http.StatusServiceUnavailable {
			break
		}
		if n == 500 {
			t.Fatalf("500 parts on a full disk and /readyz still says ready:\n%s", errb.String())
		}
	}
	code, body := readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "degraded: journal cannot commit") {
		t.Errorf("/readyz on a full disk: %d %q", code, body)
	}
	if _, m := get(url + "/metrics"); !strings.Contains(m, "\nlinesight_journal_degraded 1\n") {
		t.Errorf("metrics on a full disk lack linesight_journal_degraded 1:\n%s", m)
	}
	for i := n + 1; i <= n+20; i++ {
		if v := verdictFor(fmt.Sprintf("P-%d", i)); v["journaled"] != false {
			t.Errorf("a verdict published while the journal cannot commit says journaled: %v", v["journaled"])
		}
	}
	poll("a status that says degraded", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(statuses) > 0 && strings.Contains(statuses[len(statuses)-1], `"degraded":["journal cannot commit`)
	})
	filepath.WalkDir(filepath.Join(data, "images"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil && info.Size() == 0 {
				t.Errorf("empty image file %s", path)
			}
		}
		return nil
	})

	filler.Remove()
	poll("ready again", func() bool { code, _ := readyz(); return code == http.StatusOK })
	if v := verdictFor("P-after"); v["journaled"] != true {
		t.Errorf("verdict after space came back: %v", v)
	}
	poll("a status that is no longer degraded", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !strings.Contains(statuses[len(statuses)-1], `"degraded"`)
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run exited %d:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	// A handful of lines for the whole episode, not one per flush or image.
	log := errb.String()
	journalLines := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "component=journal") && (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) {
			journalLines++
		}
	}
	if journalLines > 4 {
		t.Errorf("%d journal warnings and errors for one full-disk episode:\n%s", journalLines, log)
	}
	if n := strings.Count(log, "journal cannot commit"); n != 1 {
		t.Errorf("%d lines say the journal cannot commit, want 1", n)
	}
}
