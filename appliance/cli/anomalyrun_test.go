package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// anomalyDefects are the offline classes with zero-shot anomaly detection
// at a threshold every part of a random-weight model reaches (its maps mean
// nothing; this is about the plumbing).
var anomalyDefects = strings.Replace(offlineDefects, "    uncertain: escalate\n",
	"    uncertain: escalate\n    anomaly: {zero_shot: true, threshold: 0.05}\n", 1)

// TestRunPublishesAndJournalsAnomalies runs `linesight run` on the synthetic
// line with a set that detects anomalies, against a real mosquitto: the PLC
// receives verdicts with the anomaly fields (never the map), and the journal
// keeps the map with the record.
func TestRunPublishesAndJournalsAnomalies(t *testing.T) {
	broker := mosquitto.Start(t, nil)
	cfg := runConfig{
		Cameras: `  - id: cam0
    mode: triggered
    roi: {x: 4, y: 2, width: 56, height: 40}
    rotate: 90
    source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}
`,
		Broker: broker.URL(),
		Rest:   "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "classes.yaml"), []byte(anomalyDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	plc, msgs := recordPLC(t, broker.URL())
	a := launchAppliance(t, cfg)
	msgs.wait(t, "linesight/l1/status", `"ready"`)
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P-7"}`).Wait()
	raw := msgs.wait(t, "linesight/l1/cam0/verdict", `"P-7"`)
	var v struct {
		Outcome    string  `json:"outcome"`
		Class      string  `json:"class"`
		Confidence float64 `json:"confidence"`
		Anomaly    *struct {
			Score     float64         `json:"score"`
			Threshold float64         `json:"threshold"`
			Region    *defects.Region `json:"region"`
		} `json:"anomaly"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	if v.Anomaly == nil || v.Anomaly.Threshold != 0.05 || v.Anomaly.Score < 0.05 || v.Anomaly.Region == nil {
		t.Fatalf("verdict payload without the anomaly fields of a score over the threshold: %s", raw)
	}
	if v.Outcome != "FAIL" || (v.Class == defects.AnomalyClass) != (v.Confidence == v.Anomaly.Score) {
		t.Errorf("verdict %s %s %g with anomaly score %g: want FAIL, by anomaly with its score or by a defect class", v.Outcome, v.Class, v.Confidence, v.Anomaly.Score)
	}
	// The region lies in the source camera's 64x48 image, inside the ROI.
	if r := v.Anomaly.Region; r.X < 4 || r.Y < 2 || r.X+r.W > 60 || r.Y+r.H > 42 || r.W <= 0 || r.H <= 0 {
		t.Errorf("region %+v is not inside the ROI 4,2 56x40 of the source", r)
	}
	if strings.Contains(raw, "values") || strings.Contains(raw, "anomaly_map") {
		t.Errorf("the map reached the PLC: %s", raw)
	}
	if code := a.stop(t); code != 0 {
		t.Fatalf("run exited %d", code)
	}

	j, err := journal.Open(journal.Options{Dir: filepath.Join(filepath.Dir(cfg), "data"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	p, err := j.Query(journal.Query{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range p.Records {
		if r.PartID != "P-7" {
			continue
		}
		found = true
		m := r.AnomalyMap
		// The oriented frame is 40 x 56, the model sees all of it.
		if m == nil || m.Grid == 0 || len(m.Values) != m.Grid*m.Grid || m.Box == nil || m.Window.W <= 0 {
			t.Errorf("journaled record's anomaly_map %+v", m)
		}
		if r.Anomaly == nil || r.Anomaly.Region == nil || *r.Anomaly.Region != *v.Anomaly.Region {
			t.Errorf("journaled anomaly %+v, published %+v", r.Anomaly, v.Anomaly)
		}
	}
	if !found {
		t.Errorf("no journal record of P-7")
	}
}

// TestRunScoresAgainstGoldenSamples runs `linesight run` with a set that
// detects anomalies from golden samples alone (no zero-shot map), the
// samples added with `golden add` before the start. The bank builds in the
// background while the line runs; once it is in, verdicts reach the PLC
// with the anomaly fields and the journal keeps the map.
func TestRunScoresAgainstGoldenSamples(t *testing.T) {
	broker := mosquitto.Start(t, nil)
	cfg := runConfig{
		Cameras: `  - id: cam0
    mode: triggered
    source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}
`,
		Broker: broker.URL(),
		Rest:   "journal: {flush_interval: 20ms}\n" + webOnPort0,
	}.write(t)
	dir := filepath.Dir(cfg)
	classes := strings.Replace(offlineDefects, "    uncertain: escalate\n",
		"    uncertain: escalate\n    anomaly: {golden: true, zero_shot: false, threshold: 0.05}\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(classes), 0o644); err != nil {
		t.Fatal(err)
	}
	var samples []string
	for i := range 2 {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for j := range img.Pix {
			img.Pix[j] = uint8(j*7 + i*50)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("good%d.png", i))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, p)
	}
	if out, err := runGolden(t, goldenAdd, append([]string{"--config", cfg, "--set", "parts"}, samples...)...); err != nil {
		t.Fatalf("golden add: %v\n%s", err, out)
	}

	plc, msgs := recordPLC(t, broker.URL())
	a := launchAppliance(t, cfg)
	msgs.wait(t, "linesight/l1/status", `"ready"`)
	// Parts until the bank is in: the line does not wait for it.
	var raw string
	part := 0
	testenv.WaitFor(t, "a verdict with the anomaly fields", func() bool {
		part++
		id := fmt.Sprintf("G-%d", part)
		plc.Publish("linesight/l1/cam0/trigger", 1, false, fmt.Sprintf(`{"part_id":%q}`, id)).Wait()
		raw = msgs.wait(t, "linesight/l1/cam0/verdict", `"`+id+`"`)
		return strings.Contains(raw, `"anomaly"`)
	})
	var v struct {
		PartID  string `json:"part_id"`
		Anomaly struct {
			Score     float64         `json:"score"`
			Threshold float64         `json:"threshold"`
			Region    *defects.Region `json:"region"`
		} `json:"anomaly"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	if v.Anomaly.Threshold != 0.05 || v.Anomaly.Score <= 0 || v.Anomaly.Score > 1 || (v.Anomaly.Region != nil) != (v.Anomaly.Score > 0.05) {
		t.Fatalf("anomaly fields of a few-shot map: %s", raw)
	}
	if code := a.stop(t); code != 0 {
		t.Fatalf("run exited %d", code)
	}
	j, err := journal.Open(journal.Options{Dir: filepath.Join(dir, "data"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	p, err := j.Query(journal.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Records {
		if r.PartID == v.PartID {
			if r.Anomaly == nil || r.Anomaly.Score != v.Anomaly.Score || r.AnomalyMap == nil || len(r.AnomalyMap.Values) != r.AnomalyMap.Grid*r.AnomalyMap.Grid {
				t.Errorf("journaled record of %s: anomaly %+v, map %+v", v.PartID, r.Anomaly, r.AnomalyMap)
			}
			return
		}
	}
	t.Errorf("no journal record of %s", v.PartID)
}
