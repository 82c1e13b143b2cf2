package graph

import (
	"fmt"
	"math"

	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// tower describes one CLIP transformer stack, as both towers share it.
type tower struct {
	prefix string // "vision_model" or "text_model"
	layers int
	width  int
	heads  int
	// headDim is each head's width; 0: width / heads.
	headDim int
	eps     float64
	act     string // hidden_act: quick_gelu or gelu
}

// encoder runs every layer on x [B, S, width]. mask, when set, is a float32
// additive attention mask broadcastable to [B, heads, S, S]. It returns the
// hidden states before the first layer and after each one, and the last
// layer's value projection v_proj(layer_norm1(x)) over every position
// [B, S, width], which the dense patch embeddings reuse.
//
// With firstTokenOut the last layer computes only position 0 (its output is
// [B, 1, width]): the vision tower pools the class token, so the other
// positions' queries, output projection and MLP in that layer are wasted work
// (about 1/layers of the whole tower).
func (b *builder) encoder(t tower, x, mask string, firstTokenOut bool, progress func(done, total int)) (hidden []string, lastValues string) {
	hidden = []string{x}
	for i := 0; i < t.layers; i++ {
		b.scope = fmt.Sprintf("/%s/encoder/layers.%d", t.prefix, i)
		onlyFirst := firstTokenOut && i == t.layers-1
		x, lastValues = b.encoderLayer(t, fmt.Sprintf("%s.encoder.layers.%d.", t.prefix, i), x, mask, onlyFirst)
		hidden = append(hidden, x)
		if progress != nil {
			progress(i+1, t.layers)
		}
	}
	return hidden, lastValues
}

// encoderLayer is a pre-norm transformer block:
// x += attn(ln1(x)); x += mlp(ln2(x)). With onlyFirst, only position 0 is
// computed and returned. values is v_proj(ln1(x)) over every position.
func (b *builder) encoderLayer(t tower, p, x, mask string, onlyFirst bool) (out, values string) {
	h := b.layerNorm(x, p+"layer_norm1", t.eps)
	queries := h
	if onlyFirst {
		x, queries = b.firstToken(x), b.firstToken(h)
	}
	attn, values := b.attention(t, p+"self_attn", queries, h, mask)
	x = b.op("Add", []string{x, attn})
	h = b.layerNorm(x, p+"layer_norm2", t.eps)
	return b.op("Add", []string{x, b.mlp(t, p+"mlp", h)}), values
}

// firstToken slices [B, S, D] to [B, 1, D].
func (b *builder) firstToken(x string) string {
	return b.op("Slice", []string{x, b.ints(0), b.ints(1), b.ints(1)})
}

// attention is multi-head attention of the positions in hq [B, Sq, width]
// over all positions in h [B, S, width] (hq is h for self-attention over
// every position). It also returns the value projection v_proj(h) before
// the heads are split.
func (b *builder) attention(t tower, p, hq, h, mask string) (out, values string) {
	headDim := t.headDim
	if headDim == 0 {
		headDim = t.width / t.heads
	}
	splitHeads := b.ints(0, 0, int64(t.heads), int64(headDim))

	// Scale q by head_dim^-0.5 before the product, as Hugging Face does.
	q := b.op("Mul", []string{b.linear(hq, p+".q_proj", true), b.scalar(float32(1 / math.Sqrt(float64(headDim))))})
	q = b.op("Transpose", []string{b.op("Reshape", []string{q, splitHeads})}, intsAttr("perm", 0, 2, 1, 3))
	// K goes straight to [B, heads, head_dim, S] so Q·Kᵀ is a plain MatMul.
	k := b.op("Transpose", []string{b.op("Reshape", []string{b.linear(h, p+".k_proj", true), splitHeads})}, intsAttr("perm", 0, 2, 3, 1))
	values = b.linear(h, p+".v_proj", true)
	v := b.op("Transpose", []string{b.op("Reshape", []string{values, splitHeads})}, intsAttr("perm", 0, 2, 1, 3))

	scores := b.cast(b.op("MatMul", []string{q, k}), b.act, onnxproto.Float)
	if mask != "" {
		scores = b.op("Add", []string{scores, mask})
	}
	// Softmax in float32 for every variant; float16 exp sums overflow.
	probs := b.cast(b.op("Softmax", []string{scores}, intAttr("axis", -1)), onnxproto.Float, b.act)

	ctx := b.op("MatMul", []string{probs, v})
	ctx = b.op("Transpose", []string{ctx}, intsAttr("perm", 0, 2, 1, 3))
	ctx = b.op("Reshape", []string{ctx, b.ints(0, 0, int64(t.heads*headDim))})
	return b.linear(ctx, p+".out_proj", true), values
}

// mlp is fc2(act(fc1(h))).
func (b *builder) mlp(t tower, p, h string) string {
	x := b.linear(h, p+".fc1", true)
	switch t.act {
	case "gelu":
		// 0.5·x·(1 + erf(x/√2)), the form ONNX Runtime fuses into one Gelu.
		e := b.op("Erf", []string{b.op("Div", []string{x, b.scalar(math.Sqrt2)})})
		x = b.op("Mul", []string{b.op("Mul", []string{x, b.op("Add", []string{e, b.scalar(1)})}), b.scalar(0.5)})
	default: // quick_gelu: x·sigmoid(1.702x)
		s := b.op("Sigmoid", []string{b.op("Mul", []string{x, b.scalar(1.702)})})
		x = b.op("Mul", []string{x, s})
	}
	return b.linear(x, p+".fc2", true)
}
