package reference

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

func randomPixels(cfg arch.Config, batch int, seed uint64) []float32 {
	vc := cfg.VisionConfig
	rng := rand.New(rand.NewPCG(seed, 1))
	px := make([]float32, batch*vc.NumChannels*vc.ImageSize*vc.ImageSize)
	for i := range px {
		px[i] = float32(rng.NormFloat64())
	}
	return px
}

// pixelValue gives every pixel a value that encodes where it is. It is not
// affine in position, so moving a patch or a kernel tap is not undone by the
// layer norm that follows. Every value is exact in float32.
func pixelValue(b, c, y, x int) float32 {
	return float32(c)/2 + float32(y*y+7*x*x+5*b*x*y)/1024
}

// With zero out_proj and fc2, every encoder layer is the identity. The patch
// kernel is set so output channel o copies one pixel of its patch, which pins
// down the patch order, the kernel layout and the channel order by hand.
func TestVisionByHandWithIdentityLayer(t *testing.T) {
	cfg, w := tinyModel(t)
	cfg.VisionConfig.NumHiddenLayers = 1
	vc := cfg.VisionConfig
	p := "vision_model.encoder.layers.0."
	for _, name := range []string{"self_attn.out_proj.weight", "self_attn.out_proj.bias", "mlp.fc2.weight", "mlp.fc2.bias"} {
		fill(w, p+name, 0)
	}
	width, patch, channels := vc.HiddenSize, vc.PatchSize, vc.NumChannels
	// Output channel o reads channel o%3 at (ky, kx) = ((o/3)%patch, (o/3)/patch) of its patch.
	pick := func(o int) (c, ky, kx int) { return o % 3, (o / 3) % patch, (o / 3) / patch }
	kernel := w["vision_model.embeddings.patch_embedding.weight"]
	fill(w, "vision_model.embeddings.patch_embedding.weight", 0)
	for o := 0; o < width; o++ {
		c, ky, kx := pick(o)
		kernel.Data[((o*channels+c)*patch+ky)*patch+kx] = 1
	}

	const batch = 2
	size := vc.ImageSize
	pixels := make([]float32, batch*channels*size*size)
	for b := 0; b < batch; b++ {
		for c := 0; c < channels; c++ {
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					pixels[((b*channels+c)*size+y)*size+x] = pixelValue(b, c, y, x)
				}
			}
		}
	}
	tr, err := Vision(cfg, w, pixels, batch)
	if err != nil {
		t.Fatal(err)
	}

	eps := vc.LayerNormEps
	preGamma, preBeta := w["vision_model.pre_layrnorm.weight"].Data, w["vision_model.pre_layrnorm.bias"].Data
	class := w["vision_model.embeddings.class_embedding"].Data
	positions := w["vision_model.embeddings.position_embedding.weight"].Data
	grid := size / patch
	seq := grid*grid + 1
	if tr.Seq != seq || tr.Width != width || tr.Batch != batch || tr.Dim != cfg.ProjectionDim {
		t.Fatalf("trace sizes batch %d seq %d width %d dim %d", tr.Batch, tr.Seq, tr.Width, tr.Dim)
	}
	for b := 0; b < batch; b++ {
		row := func(h []float64, token int) []float64 {
			return h[(b*seq+token)*width : (b*seq+token+1)*width]
		}
		// Token 0: class embedding + position 0, then pre_layrnorm.
		first := make([]float64, width)
		for o := range first {
			first[o] = float64(class[o]) + float64(positions[o])
		}
		classToken := handLayerNorm(first, preGamma, preBeta, eps)
		assertClose(t, fmt.Sprintf("image %d class token", b), row(tr.Hidden[0], 0), classToken, 1e-12)

		// Patch tokens, row by row over the grid.
		for gy := 0; gy < grid; gy++ {
			for gx := 0; gx < grid; gx++ {
				token := 1 + gy*grid + gx
				v := make([]float64, width)
				for o := range v {
					c, ky, kx := pick(o)
					v[o] = float64(pixelValue(b, c, gy*patch+ky, gx*patch+kx)) + float64(positions[token*width+o])
				}
				want := handLayerNorm(v, preGamma, preBeta, eps)
				assertClose(t, fmt.Sprintf("image %d patch (%d,%d)", b, gy, gx), row(tr.Hidden[0], token), want, 1e-12)
			}
		}
		assertClose(t, fmt.Sprintf("image %d identity layer", b), row(tr.Hidden[1], 0), row(tr.Hidden[0], 0), 0)

		pooled := handLayerNorm(classToken, w["vision_model.post_layernorm.weight"].Data, w["vision_model.post_layernorm.bias"].Data, eps)
		assertClose(t, fmt.Sprintf("image %d Pooled", b), tr.Pooled[b*width:(b+1)*width], pooled, 1e-12)
		embeds := handProject(pooled, w["visual_projection.weight"])
		assertClose(t, fmt.Sprintf("image %d Embeds", b), tr.Embeds[b*tr.Dim:(b+1)*tr.Dim], embeds, 1e-12)
	}
}

func TestVisionBatchImagesAreIndependent(t *testing.T) {
	cfg, w := tinyModel(t)
	pixels := randomPixels(cfg, 2, 3)
	both, err := Vision(cfg, w, pixels, 2)
	if err != nil {
		t.Fatal(err)
	}
	per := len(pixels) / 2
	for b := 0; b < 2; b++ {
		one, err := Vision(cfg, w, pixels[b*per:(b+1)*per], 1)
		if err != nil {
			t.Fatal(err)
		}
		n := one.Seq * one.Width
		for i := range one.Hidden {
			assertClose(t, fmt.Sprintf("image %d Hidden[%d]", b, i), both.Hidden[i][b*n:(b+1)*n], one.Hidden[i], 1e-12)
		}
		assertClose(t, fmt.Sprintf("image %d Embeds", b), both.Embeds[b*both.Dim:(b+1)*both.Dim], one.Embeds, 1e-12)
	}
	// Different images must give different embeddings, or independence is vacuous.
	if maxAbsDiff(both.Embeds[:both.Dim], both.Embeds[both.Dim:]) < 1e-6 {
		t.Error("two random images gave the same embedding")
	}
}

// Attention mixes every token into the class token, so with real layers a
// change to one patch must reach the image embedding.
func TestVisionSeesEveryPatch(t *testing.T) {
	cfg, w := tinyModel(t)
	pixels := randomPixels(cfg, 1, 5)
	base, err := Vision(cfg, w, pixels, 1)
	if err != nil {
		t.Fatal(err)
	}
	size := cfg.VisionConfig.ImageSize
	changed := append([]float32(nil), pixels...)
	changed[2*size*size+(size-1)*size+size-1] += 1 // bottom-right pixel of the blue channel
	moved, err := Vision(cfg, w, changed, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(base.Embeds, moved.Embeds); d < 1e-9 {
		t.Errorf("changing the last pixel moved Embeds by only %g", d)
	}
}

func TestVisionRejectsBadInput(t *testing.T) {
	cfg, w := tinyModel(t)
	pixels := randomPixels(cfg, 1, 1)
	if _, err := Vision(cfg, w, pixels[1:], 1); err == nil {
		t.Error("short pixels: no error")
	}
	if _, err := Vision(cfg, w, pixels, 0); err == nil {
		t.Error("batch 0: no error")
	}
	delete(w, "visual_projection.weight")
	if _, err := Vision(cfg, w, pixels, 1); err == nil {
		t.Error("missing weight: no error")
	}
}

func TestGELUConfigChangesOutput(t *testing.T) {
	cfg, w := tinyModel(t)
	pixels := randomPixels(cfg, 1, 9)
	quick, err := Vision(cfg, w, pixels, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.VisionConfig.HiddenAct = "gelu"
	exact, err := Vision(cfg, w, pixels, 1)
	if err != nil {
		t.Fatal(err)
	}
	if maxAbsDiff(quick.Embeds, exact.Embeds) == 0 {
		t.Error("hidden_act gelu gave the same output as quick_gelu")
	}
}
