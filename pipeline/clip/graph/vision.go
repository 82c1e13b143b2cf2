package graph

import (
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// buildVision writes CLIPVisionModel + visual_projection:
// patch Conv -> [B, N, D] -> class token prepended -> + positions ->
// pre_layrnorm -> encoder -> post_layernorm(class token) -> projection.
func buildVision(cfg arch.Config, w arch.Weights, opts Options) *builder {
	vc := cfg.VisionConfig
	b := newBuilder("vision_model", w, opts.Variant)
	b.g.Inputs = []*onnxproto.ValueInfo{{
		Name: InputPixels, ElemType: onnxproto.Float,
		Shape: []onnxproto.Dim{onnxproto.Symbolic(batchDim), onnxproto.Fixed(vc.NumChannels),
			onnxproto.Fixed(vc.ImageSize), onnxproto.Fixed(vc.ImageSize)},
	}}

	b.scope = "/vision_model/embeddings"
	width := int64(vc.HiddenSize)
	pixels := b.cast(InputPixels, onnxproto.Float, b.act)
	patches := b.op("Conv", []string{pixels, b.weight("vision_model.embeddings.patch_embedding.weight")},
		intsAttr("kernel_shape", int64(vc.PatchSize), int64(vc.PatchSize)),
		intsAttr("strides", int64(vc.PatchSize), int64(vc.PatchSize)))
	patches = b.op("Reshape", []string{patches, b.ints(0, width, -1)})        // [B, D, N]
	patches = b.op("Transpose", []string{patches}, intsAttr("perm", 0, 2, 1)) // [B, N, D]

	// The class embedding [D] broadcast to [B, 1, D]: Expand needs the batch
	// size, which only the input knows.
	batch := b.op("Shape", []string{InputPixels}, intAttr("start", 0), intAttr("end", 1))
	clsShape := b.op("Concat", []string{batch, b.ints(1, width)}, intAttr("axis", 0))
	cls := b.op("Expand", []string{b.weight("vision_model.embeddings.class_embedding"), clsShape})
	x := b.op("Concat", []string{cls, patches}, intAttr("axis", 1))
	x = b.op("Add", []string{x, b.weight("vision_model.embeddings.position_embedding.weight")})

	b.scope = "/vision_model"
	x = b.layerNorm(x, "vision_model.pre_layrnorm", vc.LayerNormEps)

	t := tower{prefix: "vision_model", layers: vc.NumHiddenLayers, width: vc.HiddenSize,
		heads: vc.NumAttentionHeads, eps: vc.LayerNormEps, act: vc.HiddenAct}
	// Only the class token leaves the last layer, unless every hidden state
	// is wanted.
	hidden := b.encoder(t, x, "", !opts.DebugOutputs, progressFor(opts, "vision layers"))

	b.scope = "/vision_model/pooler"
	pooled := b.op("Gather", []string{hidden[len(hidden)-1], b.ints(0)}, intAttr("axis", 1)) // [B, 1, D]
	pooled = b.op("Reshape", []string{pooled, b.ints(-1, width)})                            // [B, D]
	pooled = b.layerNorm(pooled, "vision_model.post_layernorm", vc.LayerNormEps)
	b.scope = "/visual_projection"
	embeds := b.linear(pooled, "visual_projection", false)

	b.finish(opts, OutputImageEmbeds, embeds, cfg.ProjectionDim, hidden, onnxproto.Fixed(vc.NumPatches()+1), vc.HiddenSize)
	return b
}
