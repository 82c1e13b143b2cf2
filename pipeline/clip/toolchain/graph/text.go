package graph

import (
	"math"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// maskedOut is what masked attention scores get: the lowest float32, as
// Hugging Face uses, so a fully masked row never divides 0 by 0.
var maskedOut = float32(-math.MaxFloat32)

// buildText writes CLIPTextModel + text_projection:
// token + position embeddings -> encoder with a causal mask ->
// pool at argmax(input_ids) (OpenAI's EOT has the highest id) ->
// final_layer_norm -> projection.
func buildText(cfg arch.Config, w arch.Weights, opts Options) *builder {
	tc := cfg.TextConfig
	b := newBuilder("text_model", w, opts.Variant)
	b.ranges, b.calibrate = opts.Ranges, opts.CalibrationOutputs
	idsType := opts.idsType()
	idsShape := []onnxproto.Dim{onnxproto.Symbolic(batchDim), onnxproto.Symbolic(seqDim)}
	b.g.Inputs = []*onnxproto.ValueInfo{{Name: InputIDs, ElemType: idsType, Shape: idsShape}}
	if opts.AttentionMask {
		b.g.Inputs = append(b.g.Inputs, &onnxproto.ValueInfo{Name: InputAttentionMask, ElemType: idsType, Shape: idsShape})
	}

	b.scope = "/text_model/embeddings"
	x := b.op("Gather", []string{b.weight("text_model.embeddings.token_embedding.weight"), InputIDs}, intAttr("axis", 0))
	seqLen := b.op("Shape", []string{InputIDs}, intAttr("start", 1), intAttr("end", 2)) // [1]
	positions := b.op("Slice", []string{b.weight("text_model.embeddings.position_embedding.weight"), b.ints(0), seqLen, b.ints(0)})
	x = b.op("Add", []string{x, positions})

	b.scope = "/text_model/mask"
	mask := b.causalMask(tc.MaxPositionEmbeddings, seqLen)
	if opts.AttentionMask {
		// [B, S] of 1 (attend) and 0 (padding) -> additive [B, 1, 1, S].
		keep := b.op("Cast", []string{InputAttentionMask}, intAttr("to", int64(onnxproto.Float)))
		drop := b.op("Sub", []string{b.scalarOf(onnxproto.Float, 1), keep})
		pad := b.op("Mul", []string{drop, b.scalarOf(onnxproto.Float, maskedOut)})
		pad = b.op("Unsqueeze", []string{pad, b.ints(1, 2)})
		mask = b.op("Add", []string{mask, pad}) // [B, 1, S, S]
	}

	t := tower{prefix: "text_model", layers: tc.NumHiddenLayers, width: tc.HiddenSize,
		heads: tc.NumAttentionHeads, eps: tc.LayerNormEps, act: tc.HiddenAct}
	hidden, _ := b.encoder(t, x, mask, false, progressFor(opts, "text layers"))

	// final_layer_norm acts per position, so pooling first and normalising
	// one row per sequence gives the same result for a fraction of the work.
	b.scope = "/text_model/pooler"
	eot := b.op("ArgMax", []string{InputIDs}, intAttr("axis", 1), intAttr("keepdims", 1)) // [B, 1]
	pooled := b.op("GatherND", []string{hidden[len(hidden)-1], eot}, intAttr("batch_dims", 1))
	pooled = b.layerNorm(pooled, "text_model.final_layer_norm", tc.LayerNormEps)
	b.scope = "/text_projection"
	embeds := b.linear(pooled, "text_projection", false)

	b.finish(opts, OutputTextEmbeds, embeds, cfg.ProjectionDim, hidden, onnxproto.Symbolic(seqDim), tc.HiddenSize)
	return b
}

// causalMask is the float32 [S, S] additive mask that hides later positions,
// sliced from a constant [max, max] one to the input's length.
func (b *builder) causalMask(maxLen int, seqLen string) string {
	full := make([]float32, maxLen*maxLen)
	for i := 0; i < maxLen; i++ {
		for j := i + 1; j < maxLen; j++ {
			full[i*maxLen+j] = maskedOut
		}
	}
	name := b.addInitializer(onnxproto.FloatTensor("causal_mask", []int{maxLen, maxLen}, full))
	ends := b.op("Concat", []string{seqLen, seqLen}, intAttr("axis", 0))
	return b.op("Slice", []string{name, b.ints(0, 0), ends, b.ints(0, 1)})
}
