package engine

import (
	"fmt"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// Provider configures one execution provider. Name is "tensorrt", "cuda" or "cpu".
type Provider struct {
	Name string `yaml:"name" json:"name"`

	// DeviceID selects the GPU for TensorRT and CUDA.
	DeviceID int `yaml:"device_id" json:"device_id,omitempty"`

	// TensorRT: reduced-precision engines, where built engines are cached (a
	// build takes minutes, a cached engine loads in seconds), the builder's
	// workspace, and the batch profile the engine is optimised for.
	FP16           bool   `yaml:"fp16" json:"fp16,omitempty"`
	INT8           bool   `yaml:"int8" json:"int8,omitempty"`
	EngineCacheDir string `yaml:"engine_cache_dir" json:"engine_cache_dir,omitempty"`
	WorkspaceMB    int    `yaml:"workspace_mb" json:"workspace_mb,omitempty"`
	MinBatch       int    `yaml:"min_batch" json:"min_batch,omitempty"`
	OptBatch       int    `yaml:"opt_batch" json:"opt_batch,omitempty"`
	MaxBatch       int    `yaml:"max_batch" json:"max_batch,omitempty"`

	// CUDA: cap on the memory arena.
	MemoryLimitMB int `yaml:"memory_limit_mb" json:"memory_limit_mb,omitempty"`
}

// ProviderNames are the providers this build knows how to configure.
var ProviderNames = []string{"tensorrt", "cuda", "cpu"}

// ParseProviders turns "tensorrt,cuda,cpu" into default-configured providers.
func ParseProviders(list string) ([]Provider, error) {
	var ps []Provider
	for _, name := range strings.Split(list, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		p := Provider{Name: name}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("no execution provider given (known: %s)", strings.Join(ProviderNames, ", "))
	}
	return ps, nil
}

// Validate checks the name and the numeric options.
func (p Provider) Validate() error {
	switch p.Name {
	case "tensorrt", "cuda", "cpu":
	default:
		return fmt.Errorf("unknown execution provider %q (known: %s)", p.Name, strings.Join(ProviderNames, ", "))
	}
	if p.DeviceID < 0 || p.WorkspaceMB < 0 || p.MemoryLimitMB < 0 || p.MinBatch < 0 || p.OptBatch < 0 || p.MaxBatch < 0 {
		return fmt.Errorf("provider %s: device id, sizes and batches must not be negative", p.Name)
	}
	if p.MinBatch > 0 && p.MaxBatch > 0 && p.MinBatch > p.MaxBatch {
		return fmt.Errorf("provider %s: min_batch %d exceeds max_batch %d", p.Name, p.MinBatch, p.MaxBatch)
	}
	return nil
}

// tensorRTOptions maps the config onto ORT's TensorRT provider option keys.
// input is the model's batched input and its per-item shape, for the profile.
func (p Provider) tensorRTOptions(input string, item []int64) map[string]string {
	o := map[string]string{
		"device_id":                    strconv.Itoa(p.DeviceID),
		"trt_fp16_enable":              boolString(p.FP16),
		"trt_int8_enable":              boolString(p.INT8),
		"trt_layer_norm_fp32_fallback": "1",
	}
	if p.EngineCacheDir != "" {
		o["trt_engine_cache_enable"] = "1"
		o["trt_engine_cache_path"] = p.EngineCacheDir
		o["trt_timing_cache_enable"] = "1"
		o["trt_timing_cache_path"] = p.EngineCacheDir
	}
	if p.WorkspaceMB > 0 {
		o["trt_max_workspace_size"] = strconv.FormatInt(int64(p.WorkspaceMB)<<20, 10)
	}
	if p.MaxBatch > 0 && input != "" {
		minB, optB := max(p.MinBatch, 1), p.OptBatch
		if optB == 0 {
			optB = p.MaxBatch
		}
		shape := func(b int) string {
			dims := []string{strconv.Itoa(b)}
			for _, d := range item {
				dims = append(dims, strconv.FormatInt(d, 10))
			}
			return input + ":" + strings.Join(dims, "x")
		}
		o["trt_profile_min_shapes"] = shape(minB)
		o["trt_profile_opt_shapes"] = shape(optB)
		o["trt_profile_max_shapes"] = shape(p.MaxBatch)
	}
	return o
}

func (p Provider) cudaOptions() map[string]string {
	o := map[string]string{"device_id": strconv.Itoa(p.DeviceID)}
	if p.MemoryLimitMB > 0 {
		o["gpu_mem_limit"] = strconv.FormatInt(int64(p.MemoryLimitMB)<<20, 10)
	}
	return o
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// apply adds the provider to the session options. The CPU provider is ORT's
// built-in fallback and needs nothing.
func (p Provider) apply(so *ort.SessionOptions, input string, item []int64) error {
	switch p.Name {
	case "tensorrt":
		opts, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return fmt.Errorf("create TensorRT options: %w", err)
		}
		defer opts.Destroy()
		if err := opts.Update(p.tensorRTOptions(input, item)); err != nil {
			return fmt.Errorf("set TensorRT options: %w", err)
		}
		return so.AppendExecutionProviderTensorRT(opts)
	case "cuda":
		opts, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("create CUDA options: %w", err)
		}
		defer opts.Destroy()
		if err := opts.Update(p.cudaOptions()); err != nil {
			return fmt.Errorf("set CUDA options: %w", err)
		}
		return so.AppendExecutionProviderCUDA(opts)
	}
	return nil
}
