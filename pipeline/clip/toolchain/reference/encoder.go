package reference

import (
	"fmt"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// encoder is one tower's stack of pre-LN transformer layers.
type encoder struct {
	w      arch.Weights
	prefix string // "vision_model" or "text_model"
	layers int
	width  int
	heads  int
	// headDim is each head's width; 0: width / heads.
	headDim int
	eps     float64
	act     func(float64) float64
	causal  bool
}

// run returns the residual stream before the first layer and after each layer.
func (e encoder) run(x []float64, batch, seq int) [][]float64 {
	hidden := [][]float64{x}
	for i := 0; i < e.layers; i++ {
		x = e.layer(i, x, batch, seq)
		hidden = append(hidden, x)
	}
	return hidden
}

// layer is HF CLIPEncoderLayer:
// x = x + out_proj(attn(layer_norm1(x))); x = x + fc2(act(fc1(layer_norm2(x)))).
func (e encoder) layer(i int, x []float64, batch, seq int) []float64 {
	p := fmt.Sprintf("%s.encoder.layers.%d.", e.prefix, i)
	param := func(name string) *arch.Tensor { return e.w[p+name] }
	rows := batch * seq

	h := layerNorm(x, rows, e.width, param("layer_norm1.weight"), param("layer_norm1.bias"), e.eps)
	q := linear(h, rows, param("self_attn.q_proj.weight"), param("self_attn.q_proj.bias"))
	k := linear(h, rows, param("self_attn.k_proj.weight"), param("self_attn.k_proj.bias"))
	v := linear(h, rows, param("self_attn.v_proj.weight"), param("self_attn.v_proj.bias"))
	attn := e.width
	if e.headDim > 0 {
		attn = e.heads * e.headDim
	}
	a := attention(q, k, v, batch, seq, attn, e.heads, e.causal)
	residual := append([]float64(nil), x...)
	addInPlace(residual, linear(a, rows, param("self_attn.out_proj.weight"), param("self_attn.out_proj.bias")))

	h = layerNorm(residual, rows, e.width, param("layer_norm2.weight"), param("layer_norm2.bias"), e.eps)
	m := linear(h, rows, param("mlp.fc1.weight"), param("mlp.fc1.bias"))
	for j := range m {
		m[j] = e.act(m[j])
	}
	addInPlace(residual, linear(m, rows, param("mlp.fc2.weight"), param("mlp.fc2.bias")))
	return residual
}
