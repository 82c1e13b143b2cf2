package app

import (
	"context"
	"fmt"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/inspect"
)

// modelDir holds a tiny random model shared by the tests.
var modelDir string

func TestMain(m *testing.M) {
	// Every test here runs the appliance on ONNX Runtime.
	testenv.MainRequireORT()
	root, err := os.MkdirTemp("", "linesight-app-test")
	if err != nil {
		panic(err)
	}
	modelDir = filepath.Join(root, "model")
	cfg, err := arch.Preset("tiny")
	if err != nil {
		panic(err)
	}
	tok, err := tokenizer.Default()
	if err != nil {
		panic(err)
	}
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = 32, 32, 32
	if err := bundlewrite.Write(modelDir, cfg, arch.RandomWeights(cfg, 1), tok, pre,
		bundlewrite.Options{Provenance: bundle.Provenance{Synthetic: true, Preset: "tiny", Seed: 1}}); err != nil {
		panic(err)
	}
	code := m.Run()
	if err := os.RemoveAll(root); err != nil {
		fmt.Fprintf(os.Stderr, "removing %s: %v\n", root, err)
		code = 1
	}
	os.Exit(code)
}

const classesYAML = `version: 1
templates: ["a photo of a {} part"]
sets:
  parts:
    uncertain: reject
    good: {states: [flawless], threshold: %g}
    defects:
      - {name: scratch, states: [scratched], threshold: %g}
      - {name: dent, states: [dented], threshold: %g}
cameras:
  default: parts
`

// writeConfig writes an appliance config with one free-run synthetic camera
// and one triggered one.
func writeConfig(t *testing.T, frames int) (string, string) {
	dir := t.TempDir()
	classes := filepath.Join(dir, "classes.yaml")
	if err := os.WriteFile(classes, []byte(fmt.Sprintf(classesYAML, 0.5, 0.5, 0.5)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`line: test
data_dir: data
defects: classes.yaml
model:
  bundle: %s
  threads: 1
  close_text_after_warmup: true
cameras:
  - id: free
    source: {kind: synthetic, width: 96, height: 64, fps: 200, seed: 3, defect_rate: 0.5, frames: %d}
  - id: trig
    mode: triggered
    trigger_timeout: 2s
    source: {kind: synthetic, width: 96, height: 64, fps: 100, seed: 4}
pipeline:
  batch_size: 4
  batch_wait: 5ms
  queue_size: 64
`, modelDir, frames)), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, classes
}

// startApp runs the appliance of cfgPath until it is ready; setup, when
// given, completes it before it runs.
func startApp(t *testing.T, cfgPath string, setup ...func(*App)) (*App, *inspect.MemorySink, context.CancelFunc, chan error) {
	t.Helper()
	cfg, err := config.LoadAppliance(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a := New(cfg, nil)
	for _, f := range setup {
		f(a)
	}
	sink := inspect.NewMemorySink()
	a.AddSink(sink, inspect.SinkOptions{Lossless: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for a.State() != StateReady {
		if a.State() == StateFailed || time.Now().After(deadline) {
			t.Fatalf("appliance did not start: %s %v", a.State(), a.Status().Error)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return a, sink, cancel, done
}

// stopApp stops an appliance startApp started and fails the test if its run
// ended with an error.
func stopApp(t testing.TB, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run ended with %v", err)
	}
}

func waitVerdicts(t *testing.T, sink *inspect.MemorySink, ok func([]defects.Verdict) bool) []defects.Verdict {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		vs := sink.Verdicts()
		if ok(vs) {
			return vs
		}
		select {
		case <-sink.Changed():
		case <-deadline:
			t.Fatalf("verdicts did not arrive: have %d", len(vs))
		}
	}
}

func TestApplianceInspectsTheSyntheticLine(t *testing.T) {
	cfgPath, _ := writeConfig(t, 40)
	a, sink, cancel, done := startApp(t, cfgPath)

	if err := a.Trigger("trig", "P-77", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := a.Trigger("free", "P-1", time.Now()); err == nil {
		t.Error("a free-running camera accepted a trigger")
	}
	vs := waitVerdicts(t, sink, func(vs []defects.Verdict) bool {
		free, trig := 0, 0
		for _, v := range vs {
			if v.Camera == "free" {
				free++
			} else if v.PartID == "P-77" {
				trig++
			}
		}
		return free == 40 && trig == 1
	})
	var lastSeq uint64
	for _, v := range vs {
		if v.Camera != "free" {
			continue
		}
		if v.Seq <= lastSeq {
			t.Errorf("free camera verdicts out of order: seq %d after %d", v.Seq, lastSeq)
		}
		lastSeq = v.Seq
		if v.Truth == nil || v.ModelDigest == "" || v.ConfigHash == "" || len(v.Scores) != 3 || v.Outcome == defects.Missed {
			t.Fatalf("incomplete verdict: %+v", v)
		}
	}
	st := a.Status()
	if st.State != StateReady || len(st.Cameras) != 2 || st.Cameras[0].Inspected != 40 || st.Model.Provider != "cpu" {
		t.Errorf("status: %+v", st)
	}
	// The test model has random weights: the status and the dashboard's
	// system summary say so.
	if !st.Model.Synthetic || !(Web{App: a}).System().Model.Synthetic {
		t.Errorf("a synthetic model is not reported as synthetic: %+v", st.Model)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run ended with %v", err)
	}
	if a.State() != StateStopped {
		t.Errorf("state after stop: %s", a.State())
	}
}

func TestHotReloadKeepsOldClassesOnError(t *testing.T) {
	cfgPath, classes := writeConfig(t, 0)
	a, sink, cancel, done := startApp(t, cfgPath)
	defer stopApp(t, cancel, done)
	first := a.Status().Defects.ConfigHash

	// A broken file: the old classes stay, the error is shown.
	if err := os.WriteFile(classes, []byte("version: 1\nsets: [oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.ReloadDefects(); err == nil {
		t.Fatal("a broken defect file was accepted")
	}
	st := a.Status().Defects
	if st.ConfigHash != first || !strings.Contains(st.Error, "classes.yaml") {
		t.Errorf("after a bad reload: %+v", st)
	}
	n := len(sink.Verdicts())
	waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) > n+5 })

	// A good file with a new threshold: verdicts switch to it. The watcher
	// notices the change by itself.
	if err := os.WriteFile(classes, []byte(fmt.Sprintf(classesYAML, 0.9, 0.9, 0.9)), 0o644); err != nil {
		t.Fatal(err)
	}
	vs := waitVerdicts(t, sink, func(vs []defects.Verdict) bool {
		return len(vs) > 0 && vs[len(vs)-1].ConfigHash != first
	})
	second := vs[len(vs)-1].ConfigHash
	if got := a.Status().Defects; got.ConfigHash != second || got.Error != "" {
		t.Errorf("status after a good reload: %+v, want hash %s and no error", got, second)
	}
}

func TestShutdownTurnsWaitingTriggersIntoMissedVerdicts(t *testing.T) {
	cfgPath, _ := writeConfig(t, 0)
	a, sink, cancel, done := startApp(t, cfgPath)
	// A trigger for a moment no frame will reach before shutdown.
	if err := a.Trigger("trig", "P-future", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, v := range sink.Verdicts() {
		if v.PartID == "P-future" {
			found = v.Outcome == defects.Missed && strings.Contains(v.Reason, "shutting down")
		}
	}
	if !found {
		t.Error("the waiting trigger got no MISSED verdict at shutdown")
	}
	if err := a.Trigger("trig", "late", time.Now()); err == nil {
		t.Error("trigger accepted after shutdown")
	}
}

func TestStartFailureIsReported(t *testing.T) {
	cfgPath, _ := writeConfig(t, 1)
	cfg, err := config.LoadAppliance(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Model.Variant = "q4"
	a := New(cfg, nil)
	err = a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "q4") || a.State() != StateFailed || a.Status().Error == "" {
		t.Errorf("run with a missing variant: %v, state %s", err, a.State())
	}
}
