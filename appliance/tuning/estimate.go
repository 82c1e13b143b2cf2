package tuning

import (
	"os"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// Estimate is what a model variant is expected to add to the process's
// resident memory: its weights once, and activations per image in a batch.
// It is a first guess from the architecture; Select checks it against
// measured RSS after loading and after a warm-up batch.
type Estimate struct {
	Weights  int64 // bytes resident for the loaded sessions
	PerImage int64 // bytes of activations and buffers per image in a batch
}

// Batch is the estimate for a batch of n images.
func (e Estimate) Batch(n int) int64 { return e.Weights + int64(n)*e.PerImage }

// weightOverhead scales the model files' size to what ONNX Runtime keeps
// resident: initializers are copied out of the protobuf into its arena, and
// int8 MatMul weights are prepacked. Measured on CPU it stays within 1.1x
// to 1.4x; the larger end is taken.
const weightOverhead = 1.4

// runtimeOverhead is what ONNX Runtime holds beyond the weights once the
// two sessions (vision and text) exist: kernel registries, thread pools,
// allocator bookkeeping. Measured on CPU with small models: 10 to 20 MB.
const runtimeOverhead = 16 << 20

// arenaSlack covers the CPU arena growing in powers of two and the memory
// planner keeping more than the live tensors: allocations can land up to
// twice the live peak.
const arenaSlack = 2

// EstimateVariant estimates a variant from its model files (fileBytes, the
// ONNX files and their external data) and the vision tower's shape. The
// activation term follows one transformer block at its widest, per image:
//
//	tokens T = (image/patch)^2 + 1, width W, heads H, MLP width I
//	attention: residual, LayerNorm out, Q, K, V, context = 6*T*W, plus
//	           scores and softmax = 2*H*T*T
//	MLP:       residual and LayerNorm out 2*T*W, plus fc1, sigmoid and
//	           product of quick-GELU 3*T*I
//
// in the variant's activation type (2 bytes for fp16, else 4: int8 models
// quantize weights, not activations), times arenaSlack; plus the input
// image at float32 three times over (the loop's two batch buffers and the
// session's copy).
func EstimateVariant(cfg arch.VisionConfig, variant string, fileBytes int64) Estimate {
	t := int64(cfg.NumPatches() + 1)
	w, h, inter := int64(cfg.HiddenSize), int64(cfg.NumAttentionHeads), int64(cfg.IntermediateSize)
	attention := 6*t*w + 2*h*t*t
	mlp := 2*t*w + 3*t*inter
	elem := int64(4)
	if strings.Contains(variant, "fp16") {
		elem = 2
	}
	input := 3 * int64(cfg.ImageSize) * int64(cfg.ImageSize) * 4
	return Estimate{
		Weights:  int64(float64(fileBytes)*weightOverhead) + runtimeOverhead,
		PerImage: arenaSlack*elem*max(attention, mlp) + 3*input,
	}
}

// ModelBytes is the size of ONNX model files with their external data
// (model.onnx_data or model.onnx.data beside them, as Optimum and PyTorch
// name it).
func ModelBytes(paths ...string) int64 {
	var n int64
	for _, p := range paths {
		if p == "" {
			continue
		}
		for _, f := range []string{p, p + "_data", p + ".data"} {
			if st, err := os.Stat(f); err == nil {
				n += st.Size()
			}
		}
	}
	return n
}
