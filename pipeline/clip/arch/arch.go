// Package arch describes the CLIP architecture: the Hugging Face config.json
// shape, the presets of the published models, and the weights as named tensors
// with Hugging Face parameter names. The graph builder, the import path and the
// reference forward pass all speak these types.
package arch

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// VisionConfig is the vision_config object of a Hugging Face CLIP config.json.
type VisionConfig struct {
	HiddenSize        int `json:"hidden_size"`
	IntermediateSize  int `json:"intermediate_size"`
	NumHiddenLayers   int `json:"num_hidden_layers"`
	NumAttentionHeads int `json:"num_attention_heads"`
	// HeadDim is each attention head's width; 0 (Hugging Face's configs)
	// means hidden_size / num_attention_heads. A tower whose heads were
	// pruned (toolchain/prune) keeps its head width with fewer heads.
	HeadDim      int     `json:"head_dim,omitempty"`
	ImageSize    int     `json:"image_size"`
	PatchSize    int     `json:"patch_size"`
	NumChannels  int     `json:"num_channels"`
	LayerNormEps float64 `json:"layer_norm_eps"`
	HiddenAct    string  `json:"hidden_act"`
}

// TextConfig is the text_config object of a Hugging Face CLIP config.json.
type TextConfig struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	HiddenAct             string  `json:"hidden_act"`
	BOSTokenID            int     `json:"bos_token_id"`
	EOSTokenID            int     `json:"eos_token_id"`
	PadTokenID            int     `json:"pad_token_id"`
}

// Config is a Hugging Face CLIPModel config.json (the fields CLIP needs).
type Config struct {
	Architectures       []string     `json:"architectures,omitempty"`
	ModelType           string       `json:"model_type"`
	ProjectionDim       int          `json:"projection_dim"`
	LogitScaleInitValue float64      `json:"logit_scale_init_value"`
	VisionConfig        VisionConfig `json:"vision_config"`
	TextConfig          TextConfig   `json:"text_config"`
	// LogitScale is the trained log logit scale, which Hugging Face keeps in
	// the weights only; bundles carry it here because ONNX towers do not.
	LogitScale          *float64 `json:"logit_scale,omitempty"`
	TorchDtype          string   `json:"torch_dtype,omitempty"`
	TransformersVersion string   `json:"transformers_version,omitempty"`
}

// Hugging Face's CLIPConfig defaults, applied to fields a config.json leaves out.
func (c *Config) applyDefaults() {
	v, t := &c.VisionConfig, &c.TextConfig
	def := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	deff := func(p *float64, d float64) {
		if *p == 0 {
			*p = d
		}
	}
	defs := func(p *string, d string) {
		if *p == "" {
			*p = d
		}
	}
	defs(&c.ModelType, "clip")
	def(&c.ProjectionDim, 512)
	deff(&c.LogitScaleInitValue, 2.6592)
	def(&v.HiddenSize, 768)
	def(&v.IntermediateSize, 3072)
	def(&v.NumHiddenLayers, 12)
	def(&v.NumAttentionHeads, 12)
	def(&v.ImageSize, 224)
	def(&v.PatchSize, 32)
	def(&v.NumChannels, 3)
	deff(&v.LayerNormEps, 1e-5)
	defs(&v.HiddenAct, "quick_gelu")
	def(&t.VocabSize, 49408)
	def(&t.HiddenSize, 512)
	def(&t.IntermediateSize, 2048)
	def(&t.NumHiddenLayers, 12)
	def(&t.NumAttentionHeads, 8)
	def(&t.MaxPositionEmbeddings, 77)
	deff(&t.LayerNormEps, 1e-5)
	defs(&t.HiddenAct, "quick_gelu")
	def(&t.BOSTokenID, 49406)
	def(&t.EOSTokenID, 49407)
	def(&t.PadTokenID, 1)
}

// HeadSize is each attention head's width.
func (v VisionConfig) HeadSize() int {
	if v.HeadDim > 0 {
		return v.HeadDim
	}
	return v.HiddenSize / max(1, v.NumAttentionHeads)
}

// AttentionWidth is the width of the queries, keys and values: the heads
// side by side; hidden_size unless heads were pruned.
func (v VisionConfig) AttentionWidth() int { return v.NumAttentionHeads * v.HeadSize() }

// Validate reports the first inconsistency that would make a graph impossible.
func (c *Config) Validate() error {
	v, t := c.VisionConfig, c.TextConfig
	switch {
	case c.ProjectionDim <= 0:
		return fmt.Errorf("projection_dim must be positive, got %d", c.ProjectionDim)
	case v.HeadDim < 0 || (v.HeadDim > 0 && (v.HiddenSize <= 0 || v.NumAttentionHeads <= 0)):
		return fmt.Errorf("vision_config: head_dim %d with hidden_size %d and num_attention_heads %d: all must be positive", v.HeadDim, v.HiddenSize, v.NumAttentionHeads)
	case v.HeadDim == 0 && (v.HiddenSize <= 0 || v.NumAttentionHeads <= 0 || v.HiddenSize%v.NumAttentionHeads != 0):
		return fmt.Errorf("vision_config: hidden_size %d must be a positive multiple of num_attention_heads %d", v.HiddenSize, v.NumAttentionHeads)
	case t.HiddenSize <= 0 || t.NumAttentionHeads <= 0 || t.HiddenSize%t.NumAttentionHeads != 0:
		return fmt.Errorf("text_config: hidden_size %d must be a positive multiple of num_attention_heads %d", t.HiddenSize, t.NumAttentionHeads)
	case v.PatchSize <= 0 || v.ImageSize <= 0 || v.ImageSize%v.PatchSize != 0:
		return fmt.Errorf("vision_config: image_size %d must be a positive multiple of patch_size %d", v.ImageSize, v.PatchSize)
	case v.NumHiddenLayers <= 0 || t.NumHiddenLayers <= 0:
		return fmt.Errorf("num_hidden_layers must be positive (vision %d, text %d)", v.NumHiddenLayers, t.NumHiddenLayers)
	case v.IntermediateSize <= 0 || t.IntermediateSize <= 0:
		return fmt.Errorf("intermediate_size must be positive (vision %d, text %d)", v.IntermediateSize, t.IntermediateSize)
	case t.VocabSize <= 0 || t.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("text_config: vocab_size %d and max_position_embeddings %d must be positive", t.VocabSize, t.MaxPositionEmbeddings)
	case v.NumChannels != 3:
		return fmt.Errorf("vision_config: num_channels must be 3, got %d", v.NumChannels)
	}
	for _, act := range []string{v.HiddenAct, t.HiddenAct} {
		if act != "quick_gelu" && act != "gelu" {
			return fmt.Errorf("hidden_act %q is not supported (quick_gelu, gelu)", act)
		}
	}
	return nil
}

// NumPatches is the number of image patches (without the class token).
func (v VisionConfig) NumPatches() int {
	g := v.ImageSize / v.PatchSize
	return g * g
}

// Grid is the side of the patch grid, image_size / patch_size.
func (v VisionConfig) Grid() int { return v.ImageSize / v.PatchSize }

// DefaultMemoryLayers are the layers whose patch tokens the few-shot
// (golden-sample) anomaly map compares: floor(L/2) and floor(3L/4),
// deduplicated, where layer l is the output of the l-th residual block
// (12 and 18 for ViT-L/14's 24 blocks). Middle layers keep local texture
// that the last layers have pooled away.
func (v VisionConfig) DefaultMemoryLayers() []int {
	a, b := v.NumHiddenLayers/2, 3*v.NumHiddenLayers/4
	if a == b {
		return []int{a}
	}
	return []int{a, b}
}

// ParseConfig decodes a config.json and fills in Hugging Face's defaults.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("decode CLIP config: %w", err)
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadConfig reads and parses a config.json file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read model config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// JSON encodes the config as a Hugging Face config.json.
func (c Config) JSON() []byte {
	if c.ModelType == "" {
		c.ModelType = "clip"
	}
	if len(c.Architectures) == 0 {
		c.Architectures = []string{"CLIPModel"}
	}
	data, _ := json.MarshalIndent(c, "", "  ")
	return append(data, '\n')
}

// DefaultLogitScale is the scale OpenAI's models all trained to (the clamp at
// 100), used for bundles that do not record theirs.
const DefaultLogitScale = 100.0

// TrainedLogitScale returns exp(logit_scale) as recorded in the bundle config,
// and whether it was recorded.
func (c Config) TrainedLogitScale() (float64, bool) {
	if c.LogitScale == nil {
		return DefaultLogitScale, false
	}
	return math.Exp(*c.LogitScale), true
}
