package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
)

func TestBenchReportsLoopAgainstBareSession(t *testing.T) {
	testenv.RequireORT(t)
	model := synth(t, 1, "fp32")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(offlineDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`line: bench
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: cam0
    source: {kind: synthetic, width: 64, height: 48, fps: 200, seed: 1}
pipeline: {batch_size: 2, batch_wait: 2ms, queue_size: 4}
`, model)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "bench", "--config", cfg, "--duration", "700ms", "--warmup", "200ms", "--json")
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Verdicts == 0 || rep.LoopImagesPerS <= 0 || rep.BareImagesPerS <= 0 {
		t.Fatalf("nothing measured: %+v", rep)
	}
	if math.Abs(rep.Ratio-rep.LoopImagesPerS/rep.BareImagesPerS) > 1e-9 {
		t.Errorf("ratio %v is not loop/bare", rep.Ratio)
	}
	if !(rep.LatencyP50 > 0 && rep.LatencyP50 <= rep.LatencyP95 && rep.LatencyP95 <= rep.LatencyP99) {
		t.Errorf("latency percentiles out of order: %v %v %v", rep.LatencyP50, rep.LatencyP95, rep.LatencyP99)
	}
	if rep.BatchSize != 2 || rep.Provider != "cpu" || rep.Images != rep.Verdicts {
		t.Errorf("report does not describe the run: %+v", rep)
	}

	// Two regions a frame: two images through the model per verdict, and
	// the loop's images/s counts both.
	regions := `    regions:
      - {name: left, roi: {x: 0, y: 0, width: 32, height: 48}}
      - {name: right, roi: {x: 32, y: 0, width: 32, height: 48}}
`
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withRegions := strings.Replace(string(data), "seed: 1}\n", "seed: 1}\n"+regions, 1)
	if withRegions == string(data) {
		t.Fatal("regions not added to the bench configuration")
	}
	if err := os.WriteFile(cfg, []byte(withRegions), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, "", "bench", "--config", cfg, "--duration", "700ms", "--warmup", "200ms", "--json")
	rep = benchReport{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Verdicts == 0 || rep.Images != 2*rep.Verdicts {
		t.Errorf("two regions: %d verdicts, %d images; want two images a verdict", rep.Verdicts, rep.Images)
	}

	// With Modbus and OPC UA clients reading the verdicts meanwhile: their
	// reads all succeed, and the report counts them.
	r = mustRun(t, "", "bench", "--config", cfg, "--duration", "2s", "--warmup", "200ms", "--plc-load", "--json")
	rep = benchReport{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.PLCPolls == 0 || rep.PLCErrors != 0 || rep.Verdicts == 0 {
		t.Errorf("with PLC clients: %d reads, %d failed, %d verdicts", rep.PLCPolls, rep.PLCErrors, rep.Verdicts)
	}
}

// With --golden the loop runs the few-shot and zero-shot maps on every
// frame; bench refuses to report when anomaly detection did not start.
func TestBenchWithGoldenSamples(t *testing.T) {
	model := synth(t, 1, "fp32")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(offlineDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`line: bench
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: cam0
    source: {kind: synthetic, width: 64, height: 48, fps: 200, seed: 1}
pipeline: {batch_size: 2, batch_wait: 2ms, queue_size: 4}
`, model)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "bench", "--config", cfg, "--duration", "700ms", "--warmup", "200ms", "--json", "--golden", "2")
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Golden != 2 || rep.Verdicts == 0 || rep.BareImagesPerS <= 0 {
		t.Fatalf("report %+v", rep)
	}
	if r := run(t, "", "bench", "--config", cfg, "--golden", "65"); r.code == 0 || !strings.Contains(r.stder, "--golden 65") {
		t.Errorf("65 golden images: exit %d, %s", r.code, r.stder)
	}
}
