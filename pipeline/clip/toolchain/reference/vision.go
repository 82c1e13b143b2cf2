package reference

import (
	"fmt"
	"math"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// Vision runs CLIPVisionModel plus the visual projection on pixels laid out
// [batch, 3, image_size, image_size], already normalised.
func Vision(cfg arch.Config, w arch.Weights, pixels []float32, batch int) (*Trace, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("reference vision: %w", err)
	}
	if err := w.Check(cfg, arch.Vision); err != nil {
		return nil, fmt.Errorf("reference vision: %w", err)
	}
	vc := cfg.VisionConfig
	want := batch * vc.NumChannels * vc.ImageSize * vc.ImageSize
	if batch <= 0 || len(pixels) != want {
		return nil, fmt.Errorf("reference vision: %d pixel values for batch %d, want [%d,%d,%d,%d]",
			len(pixels), batch, batch, vc.NumChannels, vc.ImageSize, vc.ImageSize)
	}
	act, err := activation(vc.HiddenAct)
	if err != nil {
		return nil, fmt.Errorf("reference vision: %w", err)
	}

	width, seq := vc.HiddenSize, vc.NumPatches()+1
	x := embedImages(vc, w, pixels, batch)
	x = layerNorm(x, batch*seq, width, w["vision_model.pre_layrnorm.weight"], w["vision_model.pre_layrnorm.bias"], vc.LayerNormEps)

	enc := encoder{w: w, prefix: "vision_model", layers: vc.NumHiddenLayers, width: width,
		heads: vc.NumAttentionHeads, headDim: vc.HeadSize(), eps: vc.LayerNormEps, act: act}
	hidden := enc.run(x, batch, seq)

	// The class token (position 0) carries the image summary.
	last := hidden[len(hidden)-1]
	class := make([]float64, batch*width)
	for b := 0; b < batch; b++ {
		copy(class[b*width:(b+1)*width], last[b*seq*width:(b*seq+1)*width])
	}
	pooled := layerNorm(class, batch, width, w["vision_model.post_layernorm.weight"], w["vision_model.post_layernorm.bias"], vc.LayerNormEps)
	embeds := linear(pooled, batch, w["visual_projection.weight"], nil)
	return &Trace{Hidden: hidden, Pooled: pooled, Embeds: embeds,
		PatchEmbeds: patchEmbeds(cfg, w, hidden[len(hidden)-2], batch, seq),
		Batch:       batch, Seq: seq, Width: width, Dim: cfg.ProjectionDim}, nil
}

// patchEmbeds is MaskCLIP's dense path on the input x of the last layer:
// each patch through layer_norm1, v_proj and out_proj only, then
// post_layernorm, visual_projection and unit length.
func patchEmbeds(cfg arch.Config, w arch.Weights, x []float64, batch, seq int) []float64 {
	vc := cfg.VisionConfig
	width, n := vc.HiddenSize, seq-1
	patches := make([]float64, 0, batch*n*width)
	for b := 0; b < batch; b++ {
		patches = append(patches, x[(b*seq+1)*width:(b+1)*seq*width]...)
	}
	rows := batch * n
	p := fmt.Sprintf("vision_model.encoder.layers.%d.", vc.NumHiddenLayers-1)
	h := layerNorm(patches, rows, width, w[p+"layer_norm1.weight"], w[p+"layer_norm1.bias"], vc.LayerNormEps)
	h = linear(h, rows, w[p+"self_attn.v_proj.weight"], w[p+"self_attn.v_proj.bias"])
	h = linear(h, rows, w[p+"self_attn.out_proj.weight"], w[p+"self_attn.out_proj.bias"])
	h = layerNorm(h, rows, width, w["vision_model.post_layernorm.weight"], w["vision_model.post_layernorm.bias"], vc.LayerNormEps)
	e := linear(h, rows, w["visual_projection.weight"], nil)
	dim := cfg.ProjectionDim
	for r := 0; r < rows; r++ {
		row := e[r*dim : (r+1)*dim]
		var sq float64
		for _, v := range row {
			sq += v * v
		}
		inv := 1 / math.Sqrt(sq)
		for i := range row {
			row[i] *= inv
		}
	}
	return e
}

// embedImages is CLIPVisionEmbeddings: a bias-free convolution with stride
// equal to the patch size, patches taken row by row, the class embedding
// prepended, then the position embeddings added. Result [batch, 1+patches, width].
func embedImages(vc arch.VisionConfig, w arch.Weights, pixels []float32, batch int) []float64 {
	width, size, patch, channels := vc.HiddenSize, vc.ImageSize, vc.PatchSize, vc.NumChannels
	grid := size / patch
	seq := grid*grid + 1
	kernel := w["vision_model.embeddings.patch_embedding.weight"].Data // [width, channels, patch, patch]
	class := w["vision_model.embeddings.class_embedding"].Data
	positions := w["vision_model.embeddings.position_embedding.weight"].Data

	pixel := func(b, c, y, x int) float64 {
		return float64(pixels[((b*channels+c)*size+y)*size+x])
	}
	x := make([]float64, batch*seq*width)
	for b := 0; b < batch; b++ {
		for o := 0; o < width; o++ {
			x[(b*seq)*width+o] = float64(class[o])
		}
		for gy := 0; gy < grid; gy++ {
			for gx := 0; gx < grid; gx++ {
				token := 1 + gy*grid + gx
				for o := 0; o < width; o++ {
					var s float64
					for c := 0; c < channels; c++ {
						for ky := 0; ky < patch; ky++ {
							for kx := 0; kx < patch; kx++ {
								kw := kernel[((o*channels+c)*patch+ky)*patch+kx]
								s += float64(kw) * pixel(b, c, gy*patch+ky, gx*patch+kx)
							}
						}
					}
					x[(b*seq+token)*width+o] = s
				}
			}
		}
		for t := 0; t < seq; t++ {
			for o := 0; o < width; o++ {
				x[(b*seq+t)*width+o] += float64(positions[t*width+o])
			}
		}
	}
	return x
}
