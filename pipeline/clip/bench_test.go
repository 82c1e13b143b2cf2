package clip_test

import (
	"encoding/json"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/internal/pyref"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/pipeline/clip/toolchain/safetensors"
)

// BenchmarkBuilderVsPyTorchExport runs the same weights two ways in ONNX
// Runtime (CPU, two threads, batch 1): the vision tower as torch.onnx.export
// writes it, and as LineSight's graph builder writes it from the imported
// checkpoint. LINESIGHT_BENCH_PRESET picks the architecture (default
// vit-b-32). Needs Python with PyTorch, like the fidelity test.
func BenchmarkBuilderVsPyTorchExport(b *testing.B) {
	py := pyref.Python(b, "torch")
	preset := os.Getenv("LINESIGHT_BENCH_PRESET")
	if preset == "" {
		preset = "vit-b-32"
	}
	cfg, err := arch.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	var hfConfig map[string]any
	if err := json.Unmarshal(cfg.JSON(), &hfConfig); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	job, err := json.Marshal(map[string]any{"out": dir, "seed": 1, "config": hfConfig})
	if err != nil {
		b.Fatal(err)
	}
	jobPath := filepath.Join(dir, "job.json")
	if err := os.WriteFile(jobPath, job, 0o644); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command(py, filepath.Join("testdata", "torch_clip.py"), jobPath).CombinedOutput(); err != nil {
		b.Fatalf("export: %v\n%s", err, out)
	}
	c, w, err := safetensors.LoadCLIP(filepath.Join(dir, "hf"), nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := tokenizer.Default()
	if err != nil {
		b.Fatal(err)
	}
	pre := preprocess.DefaultParams()
	ours := filepath.Join(dir, "ours")
	if err := bundlewrite.Write(ours, c, w, tok, pre, bundlewrite.Options{}); err != nil {
		b.Fatal(err)
	}
	side := cfg.VisionConfig.ImageSize
	pixels := make([]float32, 3*side*side)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range pixels {
		pixels[i] = float32(rng.NormFloat64())
	}
	for _, m := range []struct{ name, path string }{
		{"pytorch-export", filepath.Join(dir, "exported", "onnx", "vision_model.onnx")},
		{"linesight-graph", filepath.Join(ours, "onnx", "vision_model.onnx")},
	} {
		b.Run(preset+"/"+m.name, func(b *testing.B) {
			v, err := engine.OpenVision(m.path, engine.SessionOptions{IntraOpThreads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			if _, err := v.Embed(pixels, 1); err != nil { // warm-up: memory planning and weight packing
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Embed(pixels, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
