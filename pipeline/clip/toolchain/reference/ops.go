package reference

import (
	"fmt"
	"math"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// linear applies a PyTorch nn.Linear to rows of x: y = x W^T + b, with W
// stored [out, in]. bias may be nil (the projections have none).
func linear(x []float64, rows int, weight, bias *arch.Tensor) []float64 {
	out, in := weight.Shape[0], weight.Shape[1]
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		xr := x[r*in : (r+1)*in]
		for o := 0; o < out; o++ {
			wo := weight.Data[o*in : (o+1)*in]
			var s float64
			if bias != nil {
				s = float64(bias.Data[o])
			}
			for i, v := range xr {
				s += v * float64(wo[i])
			}
			y[r*out+o] = s
		}
	}
	return y
}

// layerNorm normalises each row of x over its width with a biased variance,
// as torch.nn.LayerNorm does, then scales and shifts.
func layerNorm(x []float64, rows, width int, gamma, beta *arch.Tensor, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		row := x[r*width : (r+1)*width]
		var mean float64
		for _, v := range row {
			mean += v
		}
		mean /= float64(width)
		var variance float64
		for _, v := range row {
			variance += (v - mean) * (v - mean)
		}
		variance /= float64(width)
		inv := 1 / math.Sqrt(variance+eps)
		for i, v := range row {
			y[r*width+i] = (v-mean)*inv*float64(gamma.Data[i]) + float64(beta.Data[i])
		}
	}
	return y
}

// quickGELU is OpenAI CLIP's activation: x * sigmoid(1.702 x).
func quickGELU(x float64) float64 { return x / (1 + math.Exp(-1.702*x)) }

// gelu is the exact (erf) GELU used when a config says "gelu".
func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func activation(name string) (func(float64) float64, error) {
	switch name {
	case "quick_gelu":
		return quickGELU, nil
	case "gelu":
		return gelu, nil
	}
	return nil, fmt.Errorf("hidden_act %q is not supported (quick_gelu, gelu)", name)
}

// attention is multi-head scaled dot-product attention on already projected
// q, k, v ([batch, seq, width] each). Head h owns columns
// [h*headDim, (h+1)*headDim). With causal set, position i attends to
// positions 0..i only.
func attention(q, k, v []float64, batch, seq, width, heads int, causal bool) []float64 {
	headDim := width / heads
	scale := 1 / math.Sqrt(float64(headDim))
	out := make([]float64, batch*seq*width)
	at := func(b, pos, h int) int { return (b*seq+pos)*width + h*headDim }
	for b := 0; b < batch; b++ {
		for h := 0; h < heads; h++ {
			for i := 0; i < seq; i++ {
				visible := seq
				if causal {
					visible = i + 1
				}
				qi := q[at(b, i, h) : at(b, i, h)+headDim]
				scores := make([]float64, visible)
				for j := range scores {
					kj := k[at(b, j, h) : at(b, j, h)+headDim]
					var dot float64
					for d := range qi {
						dot += qi[d] * kj[d]
					}
					scores[j] = dot * scale
				}
				probs := Softmax(scores)
				oi := out[at(b, i, h) : at(b, i, h)+headDim]
				for j, p := range probs {
					vj := v[at(b, j, h) : at(b, j, h)+headDim]
					for d := range oi {
						oi[d] += p * vj[d]
					}
				}
			}
		}
	}
	return out
}

func addInPlace(dst, src []float64) {
	for i := range dst {
		dst[i] += src[i]
	}
}
