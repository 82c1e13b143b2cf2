package app

import (
	"fmt"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/web"

	"github.com/linesight/linesight/appliance/tuning"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
)

// variantModel writes a random model whose fp32 weights outweigh its int8
// ones by tens of MB, so a cap can tell them apart.
func variantModel(t *testing.T) string {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	v := &cfg.VisionConfig
	v.HiddenSize, v.IntermediateSize, v.NumHiddenLayers, v.NumAttentionHeads, v.ImageSize, v.PatchSize = 256, 1024, 12, 4, 64, 8
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = 64, 64, 64
	dir := filepath.Join(t.TempDir(), "variants")
	if err := bundlewrite.Write(dir, cfg, arch.RandomWeights(cfg, 5), tok, pre, bundlewrite.Options{Variants: []graph.Variant{graph.FP32, graph.INT8}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMemoryCapPicksWhatFits gives the appliance a cap under which the fp32
// variant does not fit and int8 does: it must choose int8, say why in
// status, and stay under the cap while inspecting. (How the batch shrinks
// when a warm-up peaks over the cap is tested in package tuning, where
// memory is simulated: activations of a model small enough for a unit test
// are lost in the noise of a real process.)
func TestMemoryCapPicksWhatFits(t *testing.T) {
	model := variantModel(t)
	if err := engine.Init(""); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	cands, err := variantsBySize(b, "fp32")
	if err != nil || len(cands) != 2 || cands[0].Variant != "fp32" || cands[1].Variant != "int8" {
		t.Fatalf("candidates %+v, %v", cands, err)
	}
	fp32, int8 := cands[0].Estimate, cands[1].Estimate
	// Room above what is resident now: just less than fp32 needs at
	// batch 1, well more than int8 needs at the configured batch.
	room := fp32.Batch(1) - 2*tuning.MB
	if int8.Batch(4)+16*tuning.MB > room {
		t.Fatalf("the model does not separate the cases: fp32 %+v int8 %+v room %d", fp32, int8, room)
	}
	tuning.TrimMemory()
	base, err := tuning.ReadRSS()
	if err != nil {
		t.Fatal(err)
	}
	capMB := int((float64(base+room)/0.9 + tuning.MB - 1) / tuning.MB)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(fmt.Sprintf(classesYAML, 0.5, 0.5, 0.5)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`line: test
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1, max_memory_mb: %d}
cameras:
  - id: free
    source: {kind: synthetic, width: 96, height: 64, fps: 500, seed: 3, frames: 64}
pipeline: {batch_size: 4, batch_wait: 20ms, queue_size: 64}
performance: {adaptive: true, deadline: 30s, window: 100ms, swap_variants: true}
`, model, capMB)), 0o644); err != nil {
		t.Fatal(err)
	}
	a, sink, cancel, done := startApp(t, cfgPath)
	defer stopApp(t, cancel, done)

	plan := a.Status().Tuning.Plan
	if plan == nil || plan.Variant != "int8" || plan.Batch != 4 || a.Status().Model.Variant != "int8" {
		t.Fatalf("cap %d MB over %d MB resident: chose %+v", capMB, base/tuning.MB, plan)
	}
	if len(plan.Rejected) == 0 || plan.Reason == "" {
		t.Errorf("the plan does not say why: %+v", plan)
	}
	// The monitor runs from the chosen settings; int8 is the lightest
	// variant, so it has none to swap to.
	if mon := a.Status().Tuning.Monitor; mon == nil || mon.Variant != "int8" || mon.Settings.Batch != 4 {
		t.Errorf("monitor status %+v", mon)
	}
	capBytes := int64(capMB) * tuning.MB
	var worst int64
	waitVerdicts(t, sink, func(vs []defects.Verdict) bool {
		rss, err := tuning.ReadRSS()
		if err != nil {
			t.Fatal(err)
		}
		worst = max(worst, rss)
		return len(vs) == 64
	})
	if worst > capBytes {
		t.Errorf("resident memory reached %d MB, over the %d MB cap", worst/tuning.MB, capMB)
	}
	t.Logf("cap %d MB: %s; worst resident %d MB", capMB, plan.Reason, worst/tuning.MB)
}

// TestAdaptiveSwapsToALighterVariant runs the appliance with a deadline no
// CPU meets: the monitor sheds the wait and the batch, then swaps in the
// int8 encoder while frames flow, and none is lost.
func TestAdaptiveSwapsToALighterVariant(t *testing.T) {
	model := variantModel(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(fmt.Sprintf(classesYAML, 0.5, 0.5, 0.5)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`line: test
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: trig
    mode: triggered
    trigger_timeout: 1m
    source: {kind: synthetic, width: 96, height: 64, fps: 100, seed: 4}
pipeline: {batch_size: 2, batch_wait: 2ms, queue_size: 256}
performance: {adaptive: true, deadline: 1ms, window: 100ms, swap_variants: true}
`, model)), 0o644); err != nil {
		t.Fatal(err)
	}
	a, sink, cancel, done := startApp(t, cfgPath)
	triggers := 0
	deadline := time.Now().Add(60 * time.Second)
	for a.Status().Tuning.Monitor.Variant != "int8" {
		if time.Now().After(deadline) {
			t.Fatalf("no swap: %+v", a.Status().Tuning.Monitor)
		}
		if err := a.Trigger("trig", fmt.Sprintf("P-%d", triggers), time.Now()); err != nil {
			t.Fatal(err)
		}
		triggers++
		time.Sleep(10 * time.Millisecond)
	}
	for range 10 { // and some after the swap
		if err := a.Trigger("trig", fmt.Sprintf("P-%d", triggers), time.Now()); err != nil {
			t.Fatal(err)
		}
		triggers++
	}
	// The change is a metric too.
	var prom web.Prom
	Web{App: a}.WriteMetrics(&prom)
	if m := prom.String(); !strings.Contains(m, "linesight_tuning_changes_total") || strings.Contains(m, "linesight_tuning_changes_total 0\n") {
		t.Errorf("metrics do not count the tuning change:\n%s", m)
	}
	vs := waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) >= triggers })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v.PartID != fmt.Sprintf("P-%d", i) || v.Outcome == defects.Missed {
			t.Fatalf("verdict %d: %s %s %q", i, v.PartID, v.Outcome, v.Reason)
		}
	}
	mon := a.Status().Tuning
	if mon != nil && mon.Monitor != nil && mon.Monitor.ChangeCount == 0 {
		t.Errorf("no change recorded: %+v", mon.Monitor)
	}
}
