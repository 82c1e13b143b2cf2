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
	os.WriteFile(cfg, []byte(fmt.Sprintf(`line: bench
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: cam0
    source: {kind: synthetic, width: 64, height: 48, fps: 200, seed: 1}
pipeline: {batch_size: 2, batch_wait: 2ms, queue_size: 4}
`, model)), 0o644)
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
	if rep.BatchSize != 2 || rep.Provider != "cpu" {
		t.Errorf("report does not describe the run: %+v", rep)
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
	os.WriteFile(cfg, []byte(fmt.Sprintf(`line: bench
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: cam0
    source: {kind: synthetic, width: 64, height: 48, fps: 200, seed: 1}
pipeline: {batch_size: 2, batch_wait: 2ms, queue_size: 4}
`, model)), 0o644)
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
