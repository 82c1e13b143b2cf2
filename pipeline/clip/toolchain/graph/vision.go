package graph

import (
	"fmt"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// buildVision writes CLIPVisionModel + visual_projection:
// patch Conv -> [B, N, D] -> class token prepended -> + positions ->
// pre_layrnorm -> encoder -> post_layernorm(class token) -> projection,
// plus the patch tokens of patchLayers and the dense patch embeddings that
// anomaly maps are made from (see addPatchOutputs).
func buildVision(cfg arch.Config, w arch.Weights, opts Options, patchLayers []int) *builder {
	vc := cfg.VisionConfig
	b := newBuilder("vision_model", w, opts.Variant)
	b.ranges, b.calibrate = opts.Ranges, opts.CalibrationOutputs
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
		heads: vc.NumAttentionHeads, headDim: vc.HeadSize(), eps: vc.LayerNormEps, act: vc.HiddenAct}
	// Only the class token leaves the last layer, unless every hidden state
	// is wanted.
	hidden, values := b.encoder(t, x, "", !opts.DebugOutputs, progressFor(opts, "vision layers"))

	b.scope = "/vision_model/pooler"
	pooled := b.op("Gather", []string{hidden[len(hidden)-1], b.ints(0)}, intAttr("axis", 1)) // [B, 1, D]
	pooled = b.op("Reshape", []string{pooled, b.ints(-1, width)})                            // [B, D]
	pooled = b.layerNorm(pooled, "vision_model.post_layernorm", vc.LayerNormEps)
	b.scope = "/visual_projection"
	embeds := b.linear(pooled, "visual_projection", false)

	b.finish(opts, OutputImageEmbeds, embeds, cfg.ProjectionDim, hidden, onnxproto.Fixed(vc.NumPatches()+1), vc.HiddenSize)
	b.addPatchOutputs(cfg, hidden, values, patchLayers)
	return b
}

// addPatchOutputs adds the outputs anomaly maps need, computed in the same
// run as image_embeds:
//   - patch_tokens.<l> for each l in layers: h_l at positions 1..N (the
//     class token dropped), [B, N, D];
//   - patch_embeds: for each patch p of the last block's input h_(L-1),
//     unit(visual_projection(post_layernorm(out_proj(v_proj(layer_norm1(h_(L-1)[p])))))),
//     [B, N, E]: the value path alone, no attention mixing, residual or MLP
//     (MaskCLIP's dense features). values is the last block's v_proj over
//     every position, which attention has already computed.
func (b *builder) addPatchOutputs(cfg arch.Config, hidden []string, values string, layers []int) {
	vc := cfg.VisionConfig
	n := int64(vc.NumPatches())
	patches := func(x string) string { return b.op("Slice", []string{x, b.ints(1), b.ints(n + 1), b.ints(1)}) }
	for _, l := range layers {
		b.scope = fmt.Sprintf("/vision_model/patch_tokens.%d", l)
		b.output(fmt.Sprintf("%s%d", PatchTokensOutput, l), patches(hidden[l]), b.act, n, vc.HiddenSize)
	}

	b.scope = "/vision_model/patch_embeds"
	last := fmt.Sprintf("vision_model.encoder.layers.%d.self_attn.out_proj", vc.NumHiddenLayers-1)
	u := b.linear(patches(values), last, true)
	u = b.layerNorm(u, "vision_model.post_layernorm", vc.LayerNormEps)
	e := b.cast(b.linear(u, "visual_projection", false), b.act, onnxproto.Float)
	e = b.op("LpNormalization", []string{e}, intAttr("axis", -1), intAttr("p", 2))
	b.output(OutputPatchEmbeds, e, onnxproto.Float, n, cfg.ProjectionDim)
}

// output names a value of type from, [B, seq, width], as a float32 graph
// output.
func (b *builder) output(name, x string, from onnxproto.DataType, seq int64, width int) {
	b.opTo(name, castOrIdentity(from), []string{x}, castAttrs(from)...)
	b.g.Outputs = append(b.g.Outputs, &onnxproto.ValueInfo{
		Name: name, ElemType: onnxproto.Float,
		Shape: []onnxproto.Dim{onnxproto.Symbolic(batchDim), onnxproto.Fixed(int(seq)), onnxproto.Fixed(width)},
	})
}
