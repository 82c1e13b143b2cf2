package config

import "github.com/linesight/linesight/pipeline/clip/engine"

// Model selects and tunes the CLIP model.
type Model struct {
	// Bundle is the model bundle directory.
	Bundle string `yaml:"bundle" json:"bundle"`
	// Variant is the bundle variant: fp32 (default), fp16, int8, ...
	Variant string `yaml:"variant" json:"variant"`
	// ORTLibrary is the path of libonnxruntime.so.1; empty means
	// $LINESIGHT_ORT_LIB, then engine.DefaultLibraryPath.
	ORTLibrary string `yaml:"ort_library" json:"ort_library"`
	// Threads is ONNX Runtime's intra-op thread count; 0 lets it choose.
	Threads int `yaml:"threads" json:"threads"`
	// Providers are tried in order; the CPU is always the last resort.
	Providers []engine.Provider `yaml:"providers" json:"providers"`
	// CloseTextAfterWarmup frees the text encoder once every prompt
	// embedding is computed or cached; a changed defect file then reopens it.
	CloseTextAfterWarmup bool `yaml:"close_text_after_warmup" json:"close_text_after_warmup"`
	// SpinWait lets ONNX Runtime's threads spin between operators. Off by
	// default: the spinning takes the cores that capture and preprocessing
	// share with inference (the loop then keeps 98% of the bare session's
	// throughput instead of 89%, docs/benchmarks.md).
	SpinWait bool `yaml:"spin_wait" json:"spin_wait"`
	// MaxMemoryMB caps the process's resident memory: the appliance picks
	// the heaviest variant (no heavier than Variant) and the largest batch
	// (no larger than pipeline.batch_size) that fit. 0: no cap.
	MaxMemoryMB int `yaml:"max_memory_mb" json:"max_memory_mb"`
}

// Model defaults.
const (
	DefaultVariant  = "fp32"
	MaxThreads      = 1024
	DefaultProvider = "cpu"
)
