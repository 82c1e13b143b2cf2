// Package reference is a plain float64 implementation of Hugging Face's
// CLIPModel forward pass, written straight from the model's definition so it
// can serve as the oracle for the ONNX graphs the builder writes. It favours
// clarity over speed and is meant for tiny models in tests.
package reference

import "math"

// Trace holds a forward pass. Hidden[0] is the input to the first encoder layer
// (vision: patch+class embeddings + positions, after pre_layrnorm; text: token +
// position embeddings); Hidden[i+1] is the residual stream after encoder layer
// i. Each is [batch, seq, width] row-major.
// Pooled is [batch, width]: vision = post_layernorm(Hidden[last][:,0]); text =
// final_layer_norm(last hidden) at the EOT position.
// Embeds is [batch, projection_dim]: Pooled times the projection (before any L2
// normalisation).
// PatchEmbeds (vision only) is [batch, patches, projection_dim]: for each
// patch of Hidden[layers-1], the last layer's value path alone
// (out_proj(v_proj(layer_norm1(h)))), then post_layernorm and the
// projection, scaled to unit length.
type Trace struct {
	Hidden      [][]float64
	Pooled      []float64
	Embeds      []float64
	PatchEmbeds []float64
	Batch       int
	Seq         int
	Width       int
	Dim         int
}

// Cosine is the cosine similarity of two vectors of the same length; it is 0
// when either vector is all zeros.
func Cosine(a, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}

// Softmax returns exp(l_i) / sum exp(l_j), shifted by the maximum so large
// logits do not overflow.
func Softmax(logits []float64) []float64 {
	if len(logits) == 0 {
		return nil
	}
	peak := math.Inf(-1)
	for _, l := range logits {
		peak = math.Max(peak, l)
	}
	out := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		out[i] = math.Exp(l - peak)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
