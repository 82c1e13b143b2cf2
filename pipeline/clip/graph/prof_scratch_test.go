package graph

import (
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

func TestScratchProfile(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	needORT(t)
	cfg, _ := arch.Preset("vit-b-32")
	w := arch.RandomWeights(cfg, 1)
	v, _ := ParseVariant(os.Getenv("SCRATCH"))
	m, _ := Build(cfg, w, arch.Vision, Options{Variant: v})
	path := filepath.Join("/tmp", "prof.onnx")
	m.Save(path, onnxproto.SaveOptions{})
	so, _ := ort.NewSessionOptions()
	so.SetIntraOpNumThreads(2)
	so.SetInterOpNumThreads(1)
	so.EnableProfiling("/tmp/ortprof")
	so.SetOptimizedModelFilePath("/tmp/prof_opt.onnx")
	s, err := ort.NewDynamicAdvancedSession(path, []string{"pixel_values"}, []string{"image_embeds"}, so)
	if err != nil {
		t.Fatal(err)
	}
	in := floatInput(t, pixelShape(cfg, 1), randomPixels(cfg, 1, 1))
	for i := 0; i < 20; i++ {
		out := []ort.Value{nil}
		s.Run([]ort.Value{in}, out)
		out[0].Destroy()
	}
	s.Destroy()
}
