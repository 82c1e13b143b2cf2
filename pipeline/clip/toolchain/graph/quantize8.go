package graph

import (
	"fmt"
	"math"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// The variants beyond INT8 trade size, speed and accuracy differently; all
// keep LayerNormalization, Softmax, the residual adds, the patch Conv and the
// activation x activation MatMuls of attention in float32, like INT8.
//
//   - INT8Weights (int8w): int8 weights, DequantizeLinear, float32 MatMul.
//     The file is a quarter of fp32's, and so is the weights' share of
//     memory: ONNX Runtime does not constant-fold a DequantizeLinear (it
//     keeps Q/DQ pairs for its quantization fusions), so each weight is
//     dequantized into a scratch buffer at every run. That costs speed
//     (0.6x fp32 measured on an AVX2 box) and buys memory and disk;
//     the accuracy is that of 8-bit weights alone, with no activation
//     rounding.
//   - INT8Blocks (int8b): MatMulNBits with bits=8. Weights are quantized in
//     blocks of 32 along K, each block with its own scale, which follows
//     the weights more closely than one scale per column. accuracy_level 4
//     lets ORT quantize the activations per block too and use its integer
//     kernels where MLAS has them for the CPU. It is the most accurate int8
//     variant; on an AVX2 box without VNNI it measured slower than fp32
//     (docs/benchmarks-variants.md), so its speed must be measured on the
//     target.
//   - INT8VNNI (int8vnni): INT8's DynamicQuantizeMatMul with the full
//     [-127, 127] weight range. CPUs with VNNI (vpdpbusd) accumulate uint8 x
//     int8 products straight into int32, so the 7-bit restriction INT8 needs
//     on plain AVX2 (see quantize.go) only costs precision there.

// quantized reports whether linear layers of this variant are not plain
// float MatMuls.
func (v Variant) quantized() bool {
	return v == INT8 || v == INT8Weights || v == INT8Blocks || v == INT8VNNI || v == INT8Static
}

// int8FullMax is the symmetric int8 range that avoids -128, so a weight and
// its negation quantize to opposites.
const int8FullMax = 127

// nbitsBlock is the K block of INT8Blocks: 32 values per scale, the
// smallest block MLAS's integer kernels take and the most accurate.
const nbitsBlock = 32

// quantizedLinearOf emits x @ wt (+ bias) for a quantized variant.
func (b *builder) quantizedLinearOf(v Variant, x, wName string, wt []float32, in, out int, prefix string, hasBias bool) string {
	switch v {
	case INT8Weights:
		return b.dequantizedLinear(x, wName, wt, in, out, prefix, hasBias)
	case INT8Blocks:
		return b.blockQuantizedLinear(x, wName, wt, in, out, prefix, hasBias)
	case INT8VNNI:
		return b.dynamicLinear(x, wName, wt, in, out, prefix, hasBias, int8FullMax)
	case INT8Static:
		if r, ok := b.ranges[prefix]; ok {
			return b.staticLinear(x, wName, wt, in, out, prefix, hasBias, r)
		}
		return b.dynamicLinear(x, wName, wt, in, out, prefix, hasBias, int8FullMax)
	default:
		return b.quantizedLinear(x, wName, wt, in, out, prefix, hasBias)
	}
}

// quantizeColumns is quantizePerColumn with a chosen range [-qmax, qmax].
func quantizeColumns(w []float32, k, n, qmax int) (q []int8, scales []float32) {
	scales = make([]float32, n)
	for j := 0; j < n; j++ {
		var peak float64
		for i := 0; i < k; i++ {
			peak = math.Max(peak, math.Abs(float64(w[i*n+j])))
		}
		scales[j] = 1 // an all-zero column: any scale reproduces it
		if peak > 0 {
			scales[j] = float32(peak / float64(qmax))
		}
	}
	q = make([]int8, len(w))
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			v := math.RoundToEven(float64(w[i*n+j]) / float64(scales[j]))
			q[i*n+j] = int8(max(-float64(qmax), min(float64(qmax), v)))
		}
	}
	return q, scales
}

// dynamicLinear is DynamicQuantizeMatMul with per-column weights in
// [-qmax, qmax].
func (b *builder) dynamicLinear(x, wName string, wt []float32, in, out int, prefix string, hasBias bool, qmax int) string {
	q, scales := quantizeColumns(wt, in, out, qmax)
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

// dequantizedLinear stores wt as int8 per output column and turns it back
// into float32 with DequantizeLinear (axis 1: one scale per column) before
// an ordinary MatMul.
func (b *builder) dequantizedLinear(x, wName string, wt []float32, in, out int, prefix string, hasBias bool) string {
	q, scales := quantizeColumns(wt, in, out, int8FullMax)
	w := b.op("DequantizeLinear", []string{
		b.addInitializer(onnxproto.Int8Tensor(wName+"_quantized", []int{in, out}, q)),
		b.addInitializer(onnxproto.FloatTensor(wName+"_scale", []int{out}, scales)),
		b.addInitializer(onnxproto.Int8Tensor(wName+"_zero_point", []int{out}, make([]int8, out))),
	}, intAttr("axis", 1))
	y := b.op("MatMul", []string{x, w})
	if hasBias {
		y = b.op("Add", []string{y, b.weightFP32(prefix + ".bias")})
	}
	return y
}

// blockQuantizedLinear emits com.microsoft MatMulNBits (bits 8). Its B is
// the weight as [N, K] (output-major, the Hugging Face layout) cut into
// blocks of nbitsBlock along K, stored as uint8 q+128: without a
// zero_points input the operator's zero point is 2^(bits-1) = 128, so the
// codes are symmetric around it. A K that is not a multiple of the block
// is padded with zero weights.
func (b *builder) blockQuantizedLinear(x, wName string, wt []float32, in, out int, prefix string, hasBias bool) string {
	codes, scales, blocks := quantizeBlocks(wt, in, out, nbitsBlock)
	inputs := []string{
		x,
		b.addInitializer(uint8Tensor(wName+"_quantized", []int{out, blocks, nbitsBlock}, codes)),
		b.addInitializer(onnxproto.FloatTensor(wName+"_scale", []int{out * blocks}, scales)),
		"", // zero_points: the default 128
		"", // g_idx: unused
	}
	if hasBias {
		inputs = append(inputs, b.weightFP32(prefix+".bias"))
	}
	return b.opIn(onnxproto.DomainMicrosoft, "MatMulNBits", inputs,
		intAttr("K", int64(in)), intAttr("N", int64(out)), intAttr("bits", 8),
		intAttr("block_size", nbitsBlock),
		// 4: int8 compute; ORT quantizes A per block at run time.
		intAttr("accuracy_level", 4))
}

// quantizeBlocks quantizes the transposed weight wt [k, n] column by column
// in blocks of size along k: codes [n, blocks, size] as uint8 q+128, scales
// [n * blocks] with scale = max|block| / 127.
func quantizeBlocks(wt []float32, k, n, size int) (codes []byte, scales []float32, blocks int) {
	blocks = (k + size - 1) / size
	codes = make([]byte, n*blocks*size)
	scales = make([]float32, n*blocks)
	for j := 0; j < n; j++ {
		for blk := 0; blk < blocks; blk++ {
			lo, hi := blk*size, min((blk+1)*size, k)
			var peak float64
			for i := lo; i < hi; i++ {
				peak = math.Max(peak, math.Abs(float64(wt[i*n+j])))
			}
			scale := 1.0
			if peak > 0 {
				scale = peak / int8FullMax
			}
			scales[j*blocks+blk] = float32(scale)
			base := (j*blocks + blk) * size
			for i := 0; i < size; i++ {
				var v float64
				if lo+i < hi {
					v = math.RoundToEven(float64(wt[(lo+i)*n+j]) / float64(float32(scale)))
				}
				codes[base+i] = byte(int(max(-int8FullMax, min(int8FullMax, v))) + 128)
			}
		}
	}
	return codes, scales, blocks
}

func uint8Tensor(name string, shape []int, data []byte) *onnxproto.Tensor {
	dims := make([]int64, len(shape))
	for i, s := range shape {
		dims[i] = int64(s)
	}
	return &onnxproto.Tensor{Name: name, DataType: onnxproto.Uint8, Dims: dims, Raw: data}
}

// CalibrationOutput is the name prefix of the calibration graph's outputs.
const CalibrationOutput = "calibrate/"

// Range is the span of a tensor's values seen in calibration.
type Range struct{ Min, Max float32 }

// Ranges are linear layers' input ranges by parameter prefix
// ("vision_model.encoder.layers.3.mlp.fc1").
type Ranges map[string]Range

// CalibrationPrefix is the layer prefix of a calibration output name; ok is
// false for any other output.
func CalibrationPrefix(output string) (prefix string, ok bool) {
	p, ok := strings.CutPrefix(output, CalibrationOutput)
	if !ok {
		return "", false
	}
	p, _, _ = strings.Cut(p, "#")
	return p, true
}

// calibrationOutput makes x, the input of the linear layer prefix, an
// output of the graph.
func (b *builder) calibrationOutput(x, prefix string) {
	n := b.calls[prefix]
	b.calls[prefix] = n + 1
	name := CalibrationOutput + prefix
	if n > 0 {
		name = fmt.Sprintf("%s#%d", name, n)
	}
	b.opTo(name, "Identity", []string{x})
	b.g.Outputs = append(b.g.Outputs, &onnxproto.ValueInfo{Name: name, ElemType: onnxproto.Float})
}

// staticLinear quantizes x with the scale and zero point of its calibrated
// range r (uint8, per tensor; values outside r saturate) and multiplies it
// by int8 weights per column with com.microsoft MatMulIntegerToFloat, which
// applies both scales and adds the bias in float32.
func (b *builder) staticLinear(x, wName string, wt []float32, in, out int, prefix string, hasBias bool, r Range) string {
	scale, zero := uint8Params(r)
	q, scales := quantizeColumns(wt, in, out, int8FullMax)
	aScale := b.addInitializer(onnxproto.FloatTensor(prefix+".input_scale", nil, []float32{scale}))
	aZero := b.addInitializer(uint8Tensor(prefix+".input_zero_point", nil, []byte{zero}))
	xq := b.op("QuantizeLinear", []string{x, aScale, aZero})
	inputs := []string{
		xq,
		b.addInitializer(onnxproto.Int8Tensor(wName+"_quantized", []int{in, out}, q)),
		aScale,
		b.addInitializer(onnxproto.FloatTensor(wName+"_scale", []int{out}, scales)),
		aZero,
		b.addInitializer(onnxproto.Int8Tensor(wName+"_zero_point", []int{out}, make([]int8, out))),
	}
	if hasBias {
		inputs = append(inputs, b.weightFP32(prefix+".bias"))
	}
	return b.opIn(onnxproto.DomainMicrosoft, "MatMulIntegerToFloat", inputs)
}

// uint8Params are the scale and zero point that map r onto 0..255 with 0
// exactly representable (ONNX's asymmetric quantization): the range is
// widened to hold 0 first.
func uint8Params(r Range) (scale float32, zero uint8) {
	lo, hi := math.Min(float64(r.Min), 0), math.Max(float64(r.Max), 0)
	if hi-lo == 0 {
		return 1, 0
	}
	s := float32((hi - lo) / 255)
	z := math.Round(-lo / float64(s))
	return s, uint8(max(0, min(255, z)))
}
