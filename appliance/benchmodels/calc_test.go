package benchmodels

import (
	"math"
	"testing"
	"time"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

func TestVisionFLOPsTinyByHand(t *testing.T) {
	cfg, err := arch.Preset("tiny") // 32 px images, 8 px patches, width 32, 2 layers, 4 heads, MLP 128, projection 16
	if err != nil {
		t.Fatal(err)
	}
	// Counted by hand, one matrix product at a time (2 FLOPs per multiply-add):
	const (
		patches = 16      // (32/8)²
		tokens  = 17      // + class token
		conv    = 196_608 // 2 · 16 patches · (3·8·8) inputs · 32 outputs
		qkvo    = 139_264 // 4 products [17×32]·[32×32]: 4 · 2·17·32·32
		scores  = 18_496  // 4 heads · [17×8]·[8×17]: 4 · 2·17·17·8
		mix     = 18_496  // 4 heads · [17×17]·[17×8]
		mlp     = 278_528 // [17×32]·[32×128] and [17×128]·[128×32]: 2 · 2·17·32·128
		proj    = 1_024   // [1×32]·[32×16]
	)
	want := float64(conv + 2*(qkvo+scores+mix+mlp) + proj)
	if got := VisionFLOPs(cfg); got != want {
		t.Errorf("VisionFLOPs(tiny) = %.0f, hand count %.0f", got, want)
	}
}

func TestVisionFLOPsPublishedSizes(t *testing.T) {
	// The usual figures: ViT-L/14 about 81 GMACs (162 GFLOP), ViT-B/32 4.4 GMACs.
	for _, c := range []struct {
		preset string
		gflop  float64
	}{{"vit-l-14", 162}, {"vit-b-32", 8.8}} {
		cfg, err := arch.Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		got := VisionFLOPs(cfg) / 1e9
		if math.Abs(got-c.gflop)/c.gflop > 0.01 {
			t.Errorf("%s: %.2f GFLOP, want about %.1f", c.preset, got, c.gflop)
		}
	}
}

const avx2CPUInfo = `processor	: 0
model name	: AMD EPYC
cpu MHz		: 2445.404
flags		: fpu sse sse2 avx fma avx2
processor	: 1
model name	: AMD EPYC
cpu MHz		: 2445.404
flags		: fpu sse sse2 avx fma avx2
`

const avx512CPUInfo = `model name	: Intel(R) Xeon(R) Gold 6338
cpu MHz		: 2000.000
flags		: fpu avx fma avx2 avx512f avx512bw avx512_vnni avx512_bf16
`

func TestMachinePeak(t *testing.T) {
	m := parseMachine(avx2CPUInfo, "", 2)
	if m.ISA != "avx2" || m.Lanes != 8 || m.VNNI || m.BF16 || m.ClockSource != "/proc/cpuinfo cpu MHz" {
		t.Fatalf("avx2 machine read as %+v", m)
	}
	// 2 cores × 2.445404 GHz × 2 FMA units × 8 lanes × 2 FLOPs per FMA
	if want := 2 * 2.445404 * 2 * 8 * 2; math.Abs(m.PeakGFLOPS()-want) > 1e-9 {
		t.Errorf("peak %.4f, want %.4f", m.PeakGFLOPS(), want)
	}
	// cpufreq's maximum (kHz) wins over the current MHz.
	m = parseMachine(avx512CPUInfo, "3200000\n", 2)
	if m.ISA != "avx512" || m.Lanes != 16 || !m.VNNI || !m.BF16 || m.ClockGHz != 3.2 || m.ClockSource != "cpufreq cpuinfo_max_freq" {
		t.Fatalf("avx512 machine read as %+v", m)
	}
	if want := 2 * 3.2 * 2 * 16 * 2.0; math.Abs(m.PeakGFLOPS()-want) > 1e-9 {
		t.Errorf("peak %.4f, want %.4f", m.PeakGFLOPS(), want)
	}
	if m := parseMachine("flags: sse sse2\n", "", 1); m.Lanes != 4 || m.ISA != "sse" {
		t.Errorf("sse machine read as %+v", m)
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}} {
		if got := Percentile(s, c.q); got != c.want {
			t.Errorf("p%g = %v, want %v", 100*c.q, got, c.want)
		}
	}
	if s[0] != 100*time.Millisecond {
		t.Error("Percentile sorted its argument in place")
	}
	// Nearest rank: of 3 samples, p50 is the 2nd and p99 the 3rd.
	three := []time.Duration{3, 1, 2}
	if Percentile(three, 0.5) != 2 || Percentile(three, 0.99) != 3 {
		t.Errorf("p50, p99 of 3 samples = %v, %v", Percentile(three, 0.5), Percentile(three, 0.99))
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("no samples should give 0")
	}
}

func TestSpread(t *testing.T) {
	xs := []string{"a", "b", "c", "d", "e", "f"}
	if got := spread(xs, 3); len(got) != 3 || got[0] != "a" || got[1] != "c" || got[2] != "e" {
		t.Errorf("spread = %v", got)
	}
	if got := spread(xs, 0); len(got) != 6 {
		t.Errorf("limit 0 kept %d", len(got))
	}
}

func TestBestOfRounds(t *testing.T) {
	a := &ChildResult{LoadTime: 3, PeakRSS: 100, ImageEmbeds: [][]float32{{1}},
		Batches: []BatchResult{{Batch: 1, ImagesPerS: 10, P50: 9}, {Batch: 4, ImagesPerS: 30}}}
	b := &ChildResult{LoadTime: 2, PeakRSS: 120, ImageEmbeds: [][]float32{{2}},
		Batches: []BatchResult{{Batch: 1, ImagesPerS: 12, P50: 8}, {Batch: 4, ImagesPerS: 25}}}
	got := bestOf([]*ChildResult{a, b})
	if got.LoadTime != 2 || got.PeakRSS != 120 || got.ImageEmbeds[0][0] != 1 {
		t.Errorf("merged %+v", got)
	}
	if got.Batches[0].ImagesPerS != 12 || got.Batches[0].P50 != 8 || got.Batches[1].ImagesPerS != 30 {
		t.Errorf("batches %+v, want the fastest round of each size with its latencies", got.Batches)
	}
	if a.Batches[0].ImagesPerS != 10 {
		t.Error("bestOf changed its input")
	}
}
