// Package graph writes the two towers of CLIP as ONNX graphs that ONNX
// Runtime runs directly, from Hugging Face weights (or seeded random ones).
// Initializers keep Hugging Face parameter names, so a graph can be traced back
// to the checkpoint it came from; linear weights are stored pre-transposed as
// [in, out] under the name plus ".T" so that MatMul needs no Transpose.
//
// The vision graph maps pixel_values [batch_size, 3, H, W] to image_embeds
// [batch_size, projection_dim]; the text graph maps input_ids [batch_size,
// sequence_length] (and optionally attention_mask) to text_embeds. Both match
// the Hugging Face Optimum export names. The vision graph also returns the
// patch tokens of the memory layers (patch_tokens.<l>) and the dense patch
// embeddings (patch_embeds) that anomaly maps are made from, from the same
// run (docs/models.md).
package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/arch"

	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// Variant is the numeric format of a built graph.
type Variant int

const (
	// FP32 computes everything in float32.
	FP32 Variant = iota
	// FP16 stores weights and activations in float16 but computes
	// LayerNormalization and Softmax in float32, where float16 overflows in
	// ViTs. Inputs and outputs stay float32.
	FP16
	// INT8 turns every MatMul with a constant 2-D weight into com.microsoft
	// DynamicQuantizeMatMul with per-column symmetric int8 weights; see
	// quantize.go for why.
	INT8
	// INT8Weights stores each constant MatMul weight as int8 (per column,
	// full [-127, 127] range) behind a DequantizeLinear that feeds a float32
	// MatMul: a quarter of the fp32 size on disk, float32 arithmetic at run
	// time. See quantize8.go.
	INT8Weights
	// INT8Blocks uses com.microsoft MatMulNBits with 8-bit weights in blocks
	// of 32 along K (one scale per block) and accuracy_level 4, so ORT
	// quantizes activations per block to int8 and multiplies in integers.
	INT8Blocks
	// INT8VNNI is INT8 with the full [-127, 127] weight range, for CPUs
	// with AVX-512 VNNI or AVX-VNNI, whose dot-product instructions do not
	// saturate; on plain AVX2 it may lose accuracy (see quantize8.go).
	INT8VNNI
	// INT8Static quantizes each linear layer's input with a fixed scale and
	// zero point calibrated on the line's images (Options.Ranges), uint8
	// per tensor, and multiplies it by full-range int8 weights per column
	// with com.microsoft MatMulIntegerToFloat: no run-time range reduction,
	// as ONNX Runtime's static quantization does. Layers without a range
	// (the text tower) stay dynamic, as in INT8VNNI. See quantize8.go.
	INT8Static
)

var variantNames = []string{"fp32", "fp16", "int8", "int8w", "int8b", "int8vnni", "int8static"}

// ParseVariant reads a variant name (any case): fp32, fp16, int8, int8w,
// int8b or int8vnni.
func ParseVariant(s string) (Variant, error) {
	for i, n := range variantNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Variant(i), nil
		}
	}
	return 0, fmt.Errorf("unknown model variant %q (want %s)", s, strings.Join(variantNames, ", "))
}

func (v Variant) String() string {
	if v < 0 || int(v) >= len(variantNames) {
		return fmt.Sprintf("Variant(%d)", int(v))
	}
	return variantNames[v]
}

// Suffix is what a model bundle appends to the file name of this variant:
// "" for fp32, "_fp16", "_int8" (vision_model_int8.onnx).
func (v Variant) Suffix() string {
	if v == FP32 {
		return ""
	}
	return "_" + v.String()
}

// Options chooses what Build writes.
type Options struct {
	Variant Variant
	// InputIDsType is the element type of input_ids (and attention_mask):
	// onnxproto.Int64 (the default, like Optimum's export) or onnxproto.Int32.
	InputIDsType onnxproto.DataType
	// AttentionMask adds an attention_mask input [batch_size,
	// sequence_length] to the text graph; positions where it is 0 are hidden
	// from attention, as in Hugging Face's CLIPTextModel.
	AttentionMask bool
	// DebugOutputs adds outputs hidden_states.<i> [batch_size, seq, width]
	// for i = 0..layers: 0 is the input of the first encoder layer (vision:
	// after pre_layrnorm) and i+1 the output of layer i.
	DebugOutputs bool
	// PatchLayers are the layers whose patch tokens the vision graph
	// returns as patch_tokens.<l> (see PatchTokensOutput); nil means the
	// config's DefaultMemoryLayers. Each must be in 0..layers-1.
	PatchLayers []int
	// Ranges are the calibrated input ranges of the linear layers, by
	// parameter prefix (calibrate.Vision measures them); INT8Static needs
	// them for the vision tower.
	Ranges Ranges
	// CalibrationOutputs adds, for every linear layer, its input as an
	// output named CalibrationOutput + prefix (+ "#n" for a layer applied
	// more than once): what calibration measures. For FP32 only.
	CalibrationOutputs bool
	// Progress, when set, is told as each stage advances.
	Progress func(stage string, done, total int)
}

func (o Options) idsType() onnxproto.DataType {
	if o.InputIDsType == onnxproto.Undefined {
		return onnxproto.Int64
	}
	return o.InputIDsType
}

func (o Options) validate() error {
	if o.Variant < FP32 || int(o.Variant) >= len(variantNames) {
		return fmt.Errorf("unknown variant %d", int(o.Variant))
	}
	if o.CalibrationOutputs && o.Variant != FP32 {
		return fmt.Errorf("calibration outputs are for the fp32 graph, not %s", o.Variant)
	}
	if t := o.idsType(); t != onnxproto.Int64 && t != onnxproto.Int32 {
		return fmt.Errorf("input_ids type %s is not supported (int64, int32)", t)
	}
	return nil
}

func (o Options) patchLayers(vc arch.VisionConfig) ([]int, error) {
	return ResolvePatchLayers(vc, o.PatchLayers)
}

// ResolvePatchLayers is the list of patch-token layers a vision graph built
// with Options.PatchLayers = layers returns: the config's
// DefaultMemoryLayers when layers is nil, else layers sorted and
// deduplicated, each an output of a block before the last (the last block
// computes only the class token).
func ResolvePatchLayers(vc arch.VisionConfig, layers []int) ([]int, error) {
	if layers == nil {
		layers = vc.DefaultMemoryLayers()
	}
	out := append([]int(nil), layers...)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, l := range out {
		if l < 0 || l >= vc.NumHiddenLayers {
			return nil, fmt.Errorf("patch layer %d: the vision tower has %d blocks, so patch tokens come from layers 0..%d", l, vc.NumHiddenLayers, vc.NumHiddenLayers-1)
		}
	}
	return out, nil
}
