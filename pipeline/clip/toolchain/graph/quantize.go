package graph

import (
	"math"

	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// INT8 graphs replace each MatMul whose second operand is a constant 2-D
// weight (q/k/v/out projections, both MLP layers and the final projection)
// with com.microsoft DynamicQuantizeMatMul:
//
//   - ONNX Runtime quantizes the activation per tensor to uint8 at run time
//     and multiplies with MLAS's integer GEMM, the fastest CPU path it has
//     (2.6-2.9x float32 was measured on CLIP towers on an AVX-512 machine);
//   - the weight is quantized here, symmetric int8 with one scale per output
//     column, so a column of small weights does not lose its precision to a
//     column of large ones, and the zero point is 0;
//   - the bias goes into the operator's bias input, so no separate Add runs.
//
// The activation x activation MatMuls of attention (Q·Kᵀ, P·V), the patch
// Conv, LayerNormalization and Softmax stay float32: their operands change
// with every input, and quantizing them costs accuracy for little speed.
//
// Weights use the 7-bit range [-63, 63] rather than [-127, 127]. On x86
// CPUs without VNNI, MLAS multiplies uint8 by int8 with an instruction that
// adds pairs of products into saturating int16; 255*63*2 stays below 32767,
// so results are exact everywhere, at a small cost in weight precision
// (onnxruntime calls this reduce_range).
const int8WeightMax = 63

// quantizePerColumn quantizes a [k, n] matrix column by column:
// q = round(w / scale) with scale = max|w[:, j]| / int8WeightMax.
func quantizePerColumn(w []float32, k, n int) (q []int8, scales []float32) {
	scales = make([]float32, n)
	for j := 0; j < n; j++ {
		var peak float64
		for i := 0; i < k; i++ {
			peak = math.Max(peak, math.Abs(float64(w[i*n+j])))
		}
		if peak == 0 {
			scales[j] = 1 // an all-zero column: any scale reproduces it
		} else {
			scales[j] = float32(peak / int8WeightMax)
		}
	}
	q = make([]int8, len(w))
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			v := math.RoundToEven(float64(w[i*n+j]) / float64(scales[j]))
			q[i*n+j] = int8(max(-int8WeightMax, min(int8WeightMax, v)))
		}
	}
	return q, scales
}

// quantizedLinear emits DynamicQuantizeMatMul for x @ wt (+ bias), where wt is
// the transposed weight [in, out].
func (b *builder) quantizedLinear(x, wName string, wt []float32, in, out int, prefix string, hasBias bool) string {
	q, scales := quantizePerColumn(wt, in, out)
	inputs := []string{
		x,
		b.addInitializer(onnxproto.Int8Tensor(wName+"_quantized", []int{in, out}, q)),
		b.addInitializer(onnxproto.FloatTensor(wName+"_scale", []int{out}, scales)),
		b.addInitializer(onnxproto.Int8Tensor(wName+"_zero_point", []int{out}, make([]int8, out))),
	}
	if hasBias {
		inputs = append(inputs, b.weightFP32(prefix+".bias"))
	}
	return b.opIn(onnxproto.DomainMicrosoft, "DynamicQuantizeMatMul", inputs)
}
