package cli

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/linesight/linesight/appliance/journal/tmpfs"
	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
	"github.com/linesight/linesight/internal/testenv"
)

// TestRunDegradesOnAFullDisk runs `linesight run` with its data directory
// on a 20 MB tmpfs and fills it: every triggered part still gets its
// verdict on MQTT (flagged "journaled": false), /readyz and the status say
// degraded, no empty image is left, the log says it once, and once space
// is freed the appliance is ready and journals again.
func TestRunDegradesOnAFullDisk(t *testing.T) {
	testenv.RequireORT(t)
	broker := mosquitto.Start(t, nil)
	data := tmpfs.Mount(t, 20<<20)
	cfg := runConfig{
		DataDir: data,
		Cameras: triggeredCam0,
		Broker:  broker.URL(),
		Rest:    "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)

	var mu sync.Mutex
	verdicts := map[string]map[string]any{} // by part_id
	var statuses []string
	plc := connectPLC(t, broker.URL(), func(topic string, payload []byte) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(topic, "/status") {
			statuses = append(statuses, string(payload))
			return
		}
		var v map[string]any
		if strings.HasSuffix(topic, "/verdict") && json.Unmarshal(payload, &v) == nil {
			verdicts[v["part_id"].(string)] = v
		}
	})
	verdictFor := func(part string) map[string]any {
		t.Helper()
		plc.Publish("linesight/l1/cam0/trigger", 1, false, fmt.Sprintf(`{"part_id":%q}`, part)).Wait()
		var v map[string]any
		testenv.WaitFor(t, "the verdict for "+part, func() bool {
			mu.Lock()
			defer mu.Unlock()
			v = verdicts[part]
			return v != nil
		})
		return v
	}

	a := startAppliance(t, cfg)
	url := a.URL
	readyz := func() (int, string) { return get(url + "/readyz") }
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
			t.Fatalf("500 parts on a full disk and /readyz still says ready:\n%s", a.Log.String())
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
	testenv.WaitFor(t, "a status that says degraded", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(statuses) > 0 && strings.Contains(statuses[len(statuses)-1], `"degraded":["journal cannot commit`)
	})
	if err := filepath.WalkDir(filepath.Join(data, "images"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil && info.Size() == 0 {
				t.Errorf("empty image file %s", path)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	filler.Remove()
	testenv.WaitFor(t, "ready again", func() bool { code, _ := readyz(); return code == http.StatusOK })
	if v := verdictFor("P-after"); v["journaled"] != true {
		t.Errorf("verdict after space came back: %v", v)
	}
	testenv.WaitFor(t, "a status that is no longer degraded", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !strings.Contains(statuses[len(statuses)-1], `"degraded"`)
	})
	if code := a.stop(t); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, a.Log.String())
	}
	// A handful of lines for the whole episode, not one per flush or image.
	log := a.Log.String()
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
