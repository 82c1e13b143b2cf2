package graph

import (
	"os"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// BenchmarkVisionSession runs the vision tower in ONNX Runtime (CPU, two
// intra-op threads) at batch 1 and reports images per second. Weights are
// random: speed does not depend on their values. LINESIGHT_BENCH_PRESETS
// chooses the presets (default tiny,vit-b-32; e.g. tiny,vit-b-32,vit-l-14).
func BenchmarkVisionSession(b *testing.B) {
	presets := []string{"tiny", "vit-b-32"}
	if env := os.Getenv("LINESIGHT_BENCH_PRESETS"); env != "" {
		presets = strings.Split(env, ",")
	}
	for _, preset := range presets {
		for _, v := range []Variant{FP32, FP16, INT8} {
			b.Run(preset+"/"+v.String(), func(b *testing.B) {
				if preset != "tiny" && testing.Short() {
					b.Skip("full-size model skipped in -short mode")
				}
				cfg, err := arch.Preset(preset)
				if err != nil {
					b.Fatal(err)
				}
				w := arch.RandomWeights(cfg, 1)
				m, err := Build(cfg, w, arch.Vision, Options{Variant: v})
				if err != nil {
					b.Fatal(err)
				}
				s := newSession(b, m, onnxproto.SaveOptions{})
				in := floatInput(b, pixelShape(cfg, 1), randomPixels(cfg, 1, 1))
				s.run(b, in) // warm-up: first run plans memory and packs weights
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.run(b, in)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}

// BenchmarkPatchOutputsCost measures what the patch outputs add to the
// vision session (int8, batch 1, two threads): the graph as built against
// the same graph cut down to image_embeds and the nodes it needs.
// LINESIGHT_BENCH_PRESETS chooses the presets (default vit-b-32).
func BenchmarkPatchOutputsCost(b *testing.B) {
	presets := []string{"vit-b-32"}
	if env := os.Getenv("LINESIGHT_BENCH_PRESETS"); env != "" {
		presets = strings.Split(env, ",")
	}
	for _, preset := range presets {
		cfg, err := arch.Preset(preset)
		if err != nil {
			b.Fatal(err)
		}
		w := arch.RandomWeights(cfg, 1)
		for _, withPatches := range []bool{false, true} {
			name := preset + "/image_embeds_only"
			if withPatches {
				name = preset + "/with_patch_outputs"
			}
			b.Run(name, func(b *testing.B) {
				m, err := Build(cfg, w, arch.Vision, Options{Variant: INT8})
				if err != nil {
					b.Fatal(err)
				}
				if !withPatches {
					if err := m.Graph.KeepOutputs(OutputImageEmbeds); err != nil {
						b.Fatal(err)
					}
				}
				s := newSession(b, m, onnxproto.SaveOptions{})
				in := floatInput(b, pixelShape(cfg, 1), randomPixels(cfg, 1, 1))
				s.run(b, in)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.run(b, in)
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/img")
			})
		}
	}
}
