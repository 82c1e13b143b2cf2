package benchmodels

import (
	"context"
	"encoding/json"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
)

// tinyBundle writes a tiny random model with fp32, fp16 and int8 variants.
func tinyBundle(t *testing.T) string {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = cfg.VisionConfig.ImageSize, cfg.VisionConfig.ImageSize, cfg.VisionConfig.ImageSize
	dir := filepath.Join(t.TempDir(), "tiny")
	err = bundlewrite.Write(dir, cfg, arch.RandomWeights(cfg, 5), tok, pre, bundlewrite.Options{
		Variants:   []graph.Variant{graph.INT8, graph.FP16, graph.FP32},
		Provenance: bundle.Provenance{Synthetic: true, Preset: "tiny", Seed: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunMeasuresEveryVariant runs the whole measurement on a tiny bundle,
// each variant in a child (this test binary), over the synthetic line.
func TestRunMeasuresEveryVariant(t *testing.T) {
	testenv.RequireORT(t)
	dir := tinyBundle(t)
	m := parseMachine(avx2CPUInfo, "", 2)
	rep, err := Run(context.Background(), Options{
		Bundle: dir, Batches: []int{1, 3}, Threads: 1, Duration: 20 * time.Millisecond, MinRuns: 3,
		Machine: m, Child: selfAs("measure"), Stderr: io.Discard, Dense: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range rep.Variants {
		names = append(names, v.Name)
	}
	if strings.Join(names, ",") != "fp32,fp16,int8" {
		t.Fatalf("variants measured %v, want fp32 first then the others", names)
	}
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	if rep.GFLOPPerImage != VisionFLOPs(cfg)/1e9 || rep.PeakGFLOPS != m.PeakGFLOPS() || rep.ORTVersion == "" {
		t.Errorf("report context: %+v", rep)
	}
	minCos := map[string]float64{"fp32": 1, "fp16": 0.999, "int8": 0.98}
	for _, v := range rep.Variants {
		a := v.Agreement
		t.Logf("%s: %+v, %.0f img/s at batch %d, peak RSS %d MB", v.Name, a, v.Best.ImagesPerS, v.Best.Batch, v.PeakRSS>>20)
		if a.Images != 24 {
			t.Errorf("%s: agreement over %d images, want the 24 synthetic ones", v.Name, a.Images)
		}
		if a.CosineMin < minCos[v.Name]-1e-12 || a.CosineMean < a.CosineMin {
			t.Errorf("%s: cosine mean %g min %g, want min >= %g", v.Name, a.CosineMean, a.CosineMin, minCos[v.Name])
		}
		if v.Name == "fp32" && (a.VerdictAgreement != 1 || v.Speedup != 1) {
			t.Errorf("fp32 against itself: agreement %g, speedup %g", a.VerdictAgreement, v.Speedup)
		}
		if len(v.Batches) != 2 || v.Batch1.Batch != 1 || v.Batch1.Runs < 3 || v.Best.ImagesPerS <= 0 {
			t.Errorf("%s: batches %+v", v.Name, v.Batches)
		}
		if v.PeakRSS < 16<<20 || v.LoadTime <= 0 || v.VisionBytes <= 0 || v.TotalBytes <= v.VisionBytes || v.BestCPU <= 0 {
			t.Errorf("%s: peak RSS %d, load %v, sizes %d/%d", v.Name, v.PeakRSS, v.LoadTime, v.VisionBytes, v.TotalBytes)
		}
		if d := v.Dense; d == nil || d.Runs < 3 || d.WithPatches <= 0 || d.EmbedsOnly <= 0 ||
			d.Overhead != float64(d.WithPatches)/float64(d.EmbedsOnly)-1 ||
			d.WithPatchesMin <= 0 || d.WithPatchesMin > d.WithPatches || d.EmbedsOnlyMin <= 0 || d.EmbedsOnlyMin > d.EmbedsOnly {
			t.Errorf("%s: dense cost %+v", v.Name, d)
		}
		if want := v.Best.ImagesPerS * rep.GFLOPPerImage; v.GFLOPS != want || v.PeakShare != want/rep.PeakGFLOPS {
			t.Errorf("%s: %g GFLOP/s (%g of peak), want %g", v.Name, v.GFLOPS, v.PeakShare, want)
		}
	}
	if rep.Variants[1].VisionBytes >= rep.Variants[0].VisionBytes {
		t.Errorf("fp16 vision model (%d bytes) is not smaller than fp32's (%d)", rep.Variants[1].VisionBytes, rep.Variants[0].VisionBytes)
	}

	// The outputs: a table naming every variant, JSON that reads back, a PNG.
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.Contains(table.String(), n) {
			t.Errorf("table lacks %s:\n%s", n, table.String())
		}
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if head := lines[len(lines)-4]; !strings.Contains(head, "dense ms b1 (embeds only)") || !strings.HasSuffix(strings.TrimSpace(head), "dense +%") {
		t.Errorf("table header lacks the dense columns: %q", head)
	}
	for i, v := range rep.Variants {
		row := strings.Fields(lines[len(lines)-3+i])
		want := denseOverhead(v.Dense)
		if row[len(row)-1] != want || want == "-" {
			t.Errorf("%s row ends %q, want the dense overhead %q", v.Name, row[len(row)-1], want)
		}
	}
	out := t.TempDir()
	jsonPath, chartPath := filepath.Join(out, "r.json"), filepath.Join(out, "r.png")
	if err := rep.WriteJSON(jsonPath); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteChart(chartPath); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if len(back.Variants) != 3 || back.Variants[2].Agreement != rep.Variants[2].Agreement || back.Variants[0].PeakRSS != rep.Variants[0].PeakRSS {
		t.Errorf("JSON round trip lost data: %+v", back.Variants)
	}
	f, err := os.Open(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the chart", f)
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
		t.Errorf("chart is %v", b)
	}
}

func TestRunRejectsUnknownVariant(t *testing.T) {
	_, err := pickVariants([]string{"fp32", "int8"}, []string{"fp16"})
	if err == nil || !strings.Contains(err.Error(), "fp16") {
		t.Errorf("error %v, want one naming fp16", err)
	}
	if _, err := pickVariants([]string{"int8"}, nil); err == nil {
		t.Error("a bundle without fp32 gave no error")
	}
	got, err := pickVariants([]string{"fp32", "fp16", "int8"}, []string{"int8", "fp32"})
	if err != nil || strings.Join(got, ",") != "fp32,int8" {
		t.Errorf("pickVariants = %v, %v", got, err)
	}
}
