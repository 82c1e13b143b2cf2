package golden

import (
	"context"
	"errors"
	"hash/fnv"
	"image"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
)

// countingEmbedder makes patch outputs from an image's pixels, the same for
// the same image, and counts its runs.
type countingEmbedder struct {
	patches, width, dim int
	mu                  sync.Mutex
	runs                int
	layers              []int // what the model exports
}

func (e *countingEmbedder) CheckPatches(layers []int, dense bool) error {
	for _, l := range layers {
		if !slices.Contains(e.layers, l) {
			return errors.New("the model exports no patch tokens of that layer")
		}
	}
	return nil
}

func (e *countingEmbedder) Embed(ctx context.Context, img image.Image, layers []int) (Embedding, error) {
	e.mu.Lock()
	e.runs++
	e.mu.Unlock()
	h := fnv.New64a()
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			h.Write([]byte{byte(r), byte(g), byte(bl)})
		}
	}
	seed := h.Sum64()
	out := Embedding{}
	for _, l := range layers {
		rng := rand.New(rand.NewPCG(seed, uint64(l)))
		t := make([]float32, e.patches*e.width)
		for i := range t {
			t[i] = float32(rng.NormFloat64())
		}
		out.Tokens = append(out.Tokens, t)
	}
	rng := rand.New(rand.NewPCG(seed, 1000))
	out.Dense = make([]float32, e.patches*e.dim)
	for i := range out.Dense {
		out.Dense[i] = float32(rng.NormFloat64())
	}
	return out, nil
}

func (e *countingEmbedder) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runs
}

func testModel(digest string, e *countingEmbedder) Model {
	return Model{Digest: digest, Layers: []int{1, 2}, Patches: e.patches, Width: e.width, Scale: 100, Embedder: e}
}

// running starts m.Run and stops it when the test ends.
func running(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager run: %v", err)
		}
	})
}

func waitBuilt(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.WaitBuilt(ctx); err != nil {
		t.Fatal(err)
	}
}

func setStatus(t *testing.T, m *Manager, set string) SetStatus {
	t.Helper()
	all, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Set == set {
			return s
		}
	}
	t.Fatalf("no status of set %s in %+v", set, all)
	return SetStatus{}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Adding a sample embeds that sample only; a restart embeds nothing; a
// new model embeds everything again and drops the old model's entries.
func TestBankCacheHitsAndMisses(t *testing.T) {
	dir := t.TempDir()
	cache, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	emb := &countingEmbedder{patches: 4, width: 8, dim: 6, layers: []int{1, 2, 3}}
	store := NewStore(dir, fixedClock())
	sets := []SetConfig{{Name: "bolts", Anomaly: &defects.AnomalySettings{Golden: true}}}

	m := NewManager(store, cache, quiet())
	m.SetSets(sets)
	m.SetModel(testModel("sha256:one", emb))
	running(t, m)
	for i := range 3 {
		if _, err := m.Add("bolts", testImage(t, uint64(i), 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
			t.Fatal(err)
		}
	}
	waitBuilt(t, m)
	if n := emb.count(); n != 3 {
		t.Errorf("3 samples: %d runs", n)
	}
	if _, err := m.Add("bolts", testImage(t, 3, 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
		t.Fatal(err)
	}
	waitBuilt(t, m)
	if n := emb.count(); n != 4 {
		t.Errorf("a fourth sample: %d runs in all, want 4", n)
	}
	st := setStatus(t, m, "bolts")
	if st.Status != StatusReady || st.Progress != (Progress{4, 4}) || len(st.Samples) != 4 || st.Threshold == nil || !st.Auto {
		t.Errorf("status %+v", st)
	}
	snap := m.Acquire("bolts")
	if snap == nil || snap.Bank.Images() != 4 || !slices.Equal(snap.Layers, []int{1, 2}) {
		t.Fatalf("snapshot %+v", snap)
	}
	snap.Release()

	// Another manager on the same files (a restart): all from the cache.
	m2 := NewManager(store, cache, quiet())
	m2.SetSets(sets)
	m2.SetModel(testModel("sha256:one", emb))
	running(t, m2)
	waitBuilt(t, m2)
	if n := emb.count(); n != 4 {
		t.Errorf("after a restart: %d runs in all, want 4", n)
	}
	// Other layers are other entries.
	m2.SetSets([]SetConfig{{Name: "bolts", Anomaly: &defects.AnomalySettings{Golden: true, Layers: []int{3}}}})
	waitBuilt(t, m2)
	if n := emb.count(); n != 8 {
		t.Errorf("new layers: %d runs in all, want 8", n)
	}
	// A new model: everything again, and the old model's entries go.
	m2.SetModel(testModel("sha256:two", emb))
	waitBuilt(t, m2)
	if n := emb.count(); n != 12 {
		t.Errorf("new model: %d runs in all, want 12", n)
	}
	if n := cache.Len(); n != 4 {
		t.Errorf("cache holds %d entries, want the new model's 4", n)
	}
	if snap := m2.Acquire("bolts"); snap == nil || snap.Bank.Images() != 4 || !slices.Equal(snap.Layers, []int{3}) {
		t.Errorf("snapshot after the model change: %+v", snap)
	} else {
		snap.Release()
	}
}

// cosine in float64.
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// directLOO is the leave-one-out score from the definitions, loop by loop:
// few-shot map against the other images' patches, zero-shot map against
// the classes, their mean, its maximum.
func directLOO(embs []Embedding, layers []int, patches, width, dim int, classes [][]float32, scale float64) []float64 {
	out := make([]float64, len(embs))
	for i, e := range embs {
		score := math.Inf(-1)
		for p := range patches {
			var few float64
			for li := range layers {
				q := e.Tokens[li][p*width : (p+1)*width]
				best := math.Inf(-1)
				for j, o := range embs {
					if j == i {
						continue
					}
					for r := range patches {
						best = math.Max(best, cosine(q, o.Tokens[li][r*width:(r+1)*width]))
					}
				}
				few += 0.5 * (1 - best)
			}
			v := few / float64(len(layers))
			if classes != nil {
				d := e.Dense[p*dim : (p+1)*dim]
				var sum, good float64
				for c, t := range classes {
					x := math.Exp(scale * cosine(d, t))
					sum += x
					if c == 0 {
						good = x
					}
				}
				v = (v + (1 - good/sum)) / 2
			}
			score = math.Max(score, v)
		}
		out[i] = score
	}
	return out
}

func unitRand(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	var sq float64
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		sq += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(sq))
	}
	return v
}

func TestCalibrationAgreesWithDirectComputation(t *testing.T) {
	for _, zeroShot := range []bool{false, true} {
		name := "few-shot"
		if zeroShot {
			name = "few-shot and zero-shot"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			emb := &countingEmbedder{patches: 9, width: 16, dim: 6, layers: []int{1, 2}}
			store := NewStore(dir, fixedClock())
			rng := rand.New(rand.NewPCG(3, 4))
			var classes [][]float32
			if zeroShot {
				classes = [][]float32{unitRand(rng, 6), unitRand(rng, 6), unitRand(rng, 6)}
			}
			m := NewManager(store, nil, quiet())
			m.SetSets([]SetConfig{{Name: "bolts", Anomaly: &defects.AnomalySettings{Golden: true, ZeroShot: zeroShot}, Classes: classes}})
			model := testModel("sha256:one", emb)
			model.Scale = 3 // a softer softmax, so the zero-shot map is not all 0 or 1
			m.SetModel(model)
			running(t, m)
			var embs []Embedding
			for i := range 5 {
				data := testImage(t, uint64(10+i), 32, 32)
				smp, err := m.Add("bolts", data, Origin{By: "ann", Source: SourceFile})
				if err != nil {
					t.Fatal(err)
				}
				img, err := store.Decode("bolts", smp)
				if err != nil {
					t.Fatal(err)
				}
				e, err := emb.Embed(context.Background(), img, []int{1, 2})
				if err != nil {
					t.Fatal(err)
				}
				embs = append(embs, e)
			}
			waitBuilt(t, m)
			want := directLOO(embs, []int{1, 2}, 9, 16, 6, classes, 3)
			st := setStatus(t, m, "bolts")
			for i, smp := range st.Samples {
				if smp.LOOScore == nil || math.Abs(*smp.LOOScore-want[i]) > 1e-5 {
					t.Errorf("sample %d: LOO %v, want %v", i, smp.LOOScore, want[i])
				}
			}
			sorted := slices.Clone(want)
			slices.Sort(sorted)
			hi, med := sorted[4], sorted[2]
			threshold := math.Min(1, hi+math.Max(MinMargin, hi-med))
			if st.Threshold == nil || math.Abs(*st.Threshold-threshold) > 1e-5 {
				t.Errorf("threshold %v, want %v", st.Threshold, threshold)
			}
			// Each sample scores 0 against the full bank: it is in it.
			snap := m.Acquire("bolts")
			defer snap.Release()
			few := make([]float64, 9)
			if err := snap.Bank.FewShot(embs[0].Tokens, few); err != nil || anomaly.Score(few) > 1e-6 {
				t.Errorf("a golden image against its own bank: %v %v", few, err)
			}
			if (snap.Classes != nil) != zeroShot {
				t.Errorf("snapshot classes %v with zero_shot %v", snap.Classes, zeroShot)
			}
		})
	}
}

func TestAutoThresholdRule(t *testing.T) {
	for _, c := range []struct {
		loo  []float64
		want float64
	}{
		{[]float64{0.10, 0.20}, 0.20 + 0.05},           // median 0.15: margin 0.05
		{[]float64{0.10, 0.11, 0.30}, 0.30 + 0.19},     // one odd part widens it
		{[]float64{0.200, 0.201, 0.202}, 0.202 + 0.01}, // near-identical parts: the least margin
		{[]float64{0.6, 0.9, 0.95}, 1},                 // never above 1
	} {
		got, err := AutoThreshold(c.loo)
		if err != nil || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%v: %v %v, want %v", c.loo, got, err, c.want)
		}
	}
	if _, err := AutoThreshold([]float64{0.1}); !errors.Is(err, ErrTooFewForAuto) {
		t.Errorf("one score: %v", err)
	}
}

// With one sample, auto has no threshold: the set says why and what to do,
// and its snapshot has the bank but no threshold, so nothing FAILs as an
// anomaly. A number in the file needs no calibration.
func TestAutoNeedsTwoSamples(t *testing.T) {
	dir := t.TempDir()
	emb := &countingEmbedder{patches: 4, width: 8, dim: 6, layers: []int{1, 2}}
	m := NewManager(NewStore(dir, fixedClock()), nil, quiet())
	m.SetSets([]SetConfig{
		{Name: "auto", Anomaly: &defects.AnomalySettings{Golden: true}},
		{Name: "fixed", Anomaly: &defects.AnomalySettings{Golden: true, Threshold: 0.3}},
		{Name: "off"},
	})
	m.SetModel(testModel("sha256:one", emb))
	running(t, m)
	waitBuilt(t, m)
	if st := setStatus(t, m, "auto"); st.Status != StatusEmpty || !strings.Contains(st.Error, "add 8 to 16 images") {
		t.Errorf("no samples: %+v", st)
	}
	for _, set := range []string{"auto", "fixed"} {
		if _, err := m.Add(set, testImage(t, 1, 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
			t.Fatal(err)
		}
	}
	waitBuilt(t, m)
	st := setStatus(t, m, "auto")
	if st.Status != StatusError || st.Threshold != nil || !strings.Contains(st.Error, "at least 2 golden samples, the set has 1") ||
		!strings.Contains(st.Error, "Add another good part, or give a number") || st.Samples[0].LOOScore != nil {
		t.Errorf("auto with one sample: %+v", st)
	}
	if snap := m.Acquire("auto"); snap == nil || snap.Bank == nil || snap.Threshold != 0 {
		t.Errorf("auto with one sample: snapshot %+v", snap)
	} else {
		snap.Release()
	}
	st = setStatus(t, m, "fixed")
	if st.Status != StatusReady || st.Threshold == nil || *st.Threshold != 0.3 || st.Auto {
		t.Errorf("a number: %+v", st)
	}
	if st := setStatus(t, m, "off"); st.Enabled || st.Status != StatusEmpty || st.Threshold != nil {
		t.Errorf("no anomaly settings: %+v", st)
	}
	if m.Acquire("off") != nil {
		t.Error("a set without anomaly detection has a snapshot")
	}
	// A second sample calibrates.
	if _, err := m.Add("auto", testImage(t, 2, 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
		t.Fatal(err)
	}
	waitBuilt(t, m)
	if st := setStatus(t, m, "auto"); st.Status != StatusReady || st.Threshold == nil || st.Error != "" {
		t.Errorf("auto with two samples: %+v", st)
	}
	// Unknown sets and missing layers are refused with what is wrong.
	if _, err := m.Add("nuts", testImage(t, 3, 32, 32), Origin{By: "ann", Source: SourceFile}); !errors.Is(err, ErrBadSet) || !strings.Contains(err.Error(), "[auto fixed off]") {
		t.Errorf("unknown set: %v", err)
	}
	m.SetSets([]SetConfig{{Name: "auto", Anomaly: &defects.AnomalySettings{Golden: true, Layers: []int{7}}}})
	waitBuilt(t, m)
	if st := setStatus(t, m, "auto"); st.Status != StatusError || !strings.Contains(st.Error, "no patch tokens of that layer") {
		t.Errorf("missing layer: %+v", st)
	}
}

// countingSearcher is the plain-Go search, counting its closes.
type countingSearcher struct {
	rows   []float32
	width  int
	closed *int
	mu     *sync.Mutex
}

func (s countingSearcher) MaxDot(q, best []float32) error {
	anomaly.MaxDot(q, s.rows, s.width, best)
	return nil
}
func (s countingSearcher) Close() { s.mu.Lock(); *s.closed++; s.mu.Unlock() }

// A snapshot in use outlives the rebuild that replaces it: its bank is
// closed when released, not under the loop's feet.
func TestSnapshotOutlivesRebuild(t *testing.T) {
	dir := t.TempDir()
	emb := &countingEmbedder{patches: 4, width: 8, dim: 6, layers: []int{1, 2}}
	var mu sync.Mutex
	closed := 0
	model := testModel("sha256:one", emb)
	model.NewSearcher = func(rows []float32, width int) (anomaly.Searcher, error) {
		return countingSearcher{rows, width, &closed, &mu}, nil
	}
	m := NewManager(NewStore(dir, fixedClock()), nil, quiet())
	m.SetSets([]SetConfig{{Name: "bolts", Anomaly: &defects.AnomalySettings{Golden: true}}})
	m.SetModel(model)
	running(t, m)
	for i := range 2 {
		if _, err := m.Add("bolts", testImage(t, uint64(i), 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
			t.Fatal(err)
		}
	}
	waitBuilt(t, m)
	old := m.Acquire("bolts")
	mu.Lock()
	base := closed // the leave-one-out banks
	mu.Unlock()
	if _, err := m.Add("bolts", testImage(t, 5, 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
		t.Fatal(err)
	}
	waitBuilt(t, m)
	mu.Lock()
	during := closed - base
	mu.Unlock()
	// The rebuild's own leave-one-out banks close (3 samples x 2 layers);
	// the old bank's 2 searchers do not.
	if during != 6 {
		t.Errorf("rebuild closed %d searchers, want the 6 of its leave-one-out banks", during)
	}
	few := make([]float64, 4)
	e, err := emb.Embed(context.Background(), image.NewGray(image.Rect(0, 0, 32, 32)), []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Bank.FewShot(e.Tokens, few); err != nil {
		t.Errorf("old snapshot after the rebuild: %v", err)
	}
	old.Release()
	mu.Lock()
	after := closed - base - during
	mu.Unlock()
	if after != 2 {
		t.Errorf("release closed %d searchers, want the old bank's 2", after)
	}
	if cur := m.Acquire("bolts"); cur == nil || cur == old || cur.Bank.Images() != 3 {
		t.Errorf("current snapshot %+v", cur)
	} else {
		cur.Release()
	}
}

// A bank over the bound is cut to it; the status says how; each sample's
// leave-one-out score is made against the bounded bank, so it is never
// below the score against every other sample's patches.
func TestBankBeyondTheBoundIsACoreset(t *testing.T) {
	emb := &countingEmbedder{patches: 9, width: 16, dim: 6, layers: []int{1, 2}}
	store := NewStore(t.TempDir(), fixedClock())
	m := NewManager(store, nil, quiet())
	m.SetMaxBankRows(20)
	m.SetSets([]SetConfig{{Name: "bolts", Anomaly: &defects.AnomalySettings{Golden: true}}})
	m.SetModel(testModel("sha256:one", emb))
	running(t, m)
	var embs []Embedding
	for i := range 5 { // 45 patches per layer
		smp, err := m.Add("bolts", testImage(t, uint64(40+i), 32, 32), Origin{By: "ann", Source: SourceFile})
		if err != nil {
			t.Fatal(err)
		}
		img, err := store.Decode("bolts", smp)
		if err != nil {
			t.Fatal(err)
		}
		e, err := emb.Embed(context.Background(), img, []int{1, 2})
		if err != nil {
			t.Fatal(err)
		}
		embs = append(embs, e)
	}
	waitBuilt(t, m)
	st := setStatus(t, m, "bolts")
	if len(st.Coreset) != 2 {
		t.Fatalf("coreset %+v, want one entry per memory layer", st.Coreset)
	}
	for i, l := range st.Coreset {
		if l.Layer != i+1 || l.Kept != 20 || l.Of != 45 || !(l.Coverage < 1) || !(l.MaxRise > 0) {
			t.Errorf("layer %d: %+v, want 20 of 45 kept", i+1, l)
		}
	}
	snap := m.Acquire("bolts")
	defer snap.Release()
	if snap.Bank.Len() != 20 {
		t.Errorf("the loop's bank has %d rows per layer, want 20", snap.Bank.Len())
	}
	exact := directLOO(embs, []int{1, 2}, 9, 16, 6, nil, 0)
	raised := false
	for i, smp := range st.Samples {
		if smp.LOOScore == nil || *smp.LOOScore < exact[i]-1e-6 {
			t.Fatalf("sample %d: LOO %v below the full bank's %g", i, smp.LOOScore, exact[i])
		}
		raised = raised || *smp.LOOScore > exact[i]+1e-6
	}
	if !raised {
		t.Error("no leave-one-out score changed: the samples were not scored against the bounded bank")
	}
}
