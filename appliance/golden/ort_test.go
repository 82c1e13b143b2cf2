package golden

import (
	"bytes"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"image"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
)

// tinyModel writes and opens a generated (random-weight) model of the tiny
// preset with its patch outputs.
func tinyModel(t *testing.T) *clip.Model {
	t.Helper()
	if err := engine.Init(""); err != nil {
		t.Fatal(err)
	}
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	side := cfg.VisionConfig.ImageSize
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = side, side, side
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := bundlewrite.Write(dir, cfg, arch.RandomWeights(cfg, 9), tok, pre, bundlewrite.Options{}); err != nil {
		t.Fatal(err)
	}
	m, err := clip.Open(dir, clip.Options{NoText: true, Session: engine.SessionOptions{IntraOpThreads: 1, Logger: quiet()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// The bank built with the real session (the ORT bank search included)
// scores as the model's own EmbedPatches and the definitions say: each
// leave-one-out score, and 0 for a sample against the full bank.
func TestBankWithTheRealSession(t *testing.T) {
	m := tinyModel(t)
	model := ModelOf(m)
	if !slices.Equal(model.Layers, m.Bundle.Config.VisionConfig.DefaultMemoryLayers()) || model.Patches != m.Vision.Grid()*m.Vision.Grid() {
		t.Fatalf("model %+v", model)
	}
	dir := t.TempDir()
	cache, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the embedding cache", cache)
	store := NewStore(dir, fixedClock())
	mgr := NewManager(store, cache, quiet())
	mgr.SetSets([]SetConfig{{Name: "bolts", Anomaly: &defects.AnomalySettings{Golden: true}}})
	mgr.SetModel(model)
	running(t, mgr)

	var imgs []image.Image
	for i := range 3 {
		data := testImage(t, uint64(20+i), 48, 40)
		if _, err := mgr.Add("bolts", data, Origin{By: "ann", Source: SourceFile}); err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	waitBuilt(t, mgr)
	st := setStatus(t, mgr, "bolts")
	if st.Status != StatusReady || st.Threshold == nil {
		t.Fatalf("status %+v", st)
	}

	// The same from the model's EmbedPatches and the plain-Go search.
	out, err := m.EmbedPatches(imgs)
	if err != nil {
		t.Fatal(err)
	}
	var embs []Embedding
	for _, p := range out {
		e := Embedding{Dense: p.Dense}
		for _, l := range model.Layers {
			e.Tokens = append(e.Tokens, p.Tokens[l])
		}
		embs = append(embs, e)
	}
	want := directLOO(embs, model.Layers, model.Patches, model.Width, 0, nil, 0)
	for i, smp := range st.Samples {
		if smp.LOOScore == nil || math.Abs(*smp.LOOScore-want[i]) > 1e-4 {
			t.Errorf("sample %d: LOO %v, want %v", i, smp.LOOScore, want[i])
		}
	}
	snap := mgr.Acquire("bolts")
	defer snap.Release()
	few := make([]float64, model.Patches)
	for i, e := range embs {
		if err := snap.Bank.FewShot(e.Tokens, few); err != nil || anomaly.Score(few) > 1e-4 {
			t.Errorf("sample %d against its own bank: score %v, %v", i, anomaly.Score(few), err)
		}
	}
	if cache.Len() != 3 {
		t.Errorf("cache holds %d entries, want 3", cache.Len())
	}
}
