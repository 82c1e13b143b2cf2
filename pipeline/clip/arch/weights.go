package arch

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NumElements is the product of the shape.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Weights maps Hugging Face CLIPModel parameter names to tensors, e.g.
// "vision_model.encoder.layers.0.self_attn.q_proj.weight". Linear weights keep
// PyTorch's [out, in] layout.
type Weights map[string]*Tensor

// Param is one expected parameter: its Hugging Face name and shape.
type Param struct {
	Name  string
	Shape []int
}

// Tower selects one half of CLIP.
type Tower string

const (
	Vision Tower = "vision"
	Text   Tower = "text"
)

// encoderParams are a stack's parameters; attn is the attention width (the
// heads side by side), width unless heads were pruned.
func encoderParams(prefix string, layers, width, attn, inter int) []Param {
	var ps []Param
	for i := 0; i < layers; i++ {
		p := fmt.Sprintf("%s.encoder.layers.%d.", prefix, i)
		for _, proj := range []string{"q_proj", "k_proj", "v_proj"} {
			ps = append(ps,
				Param{p + "self_attn." + proj + ".weight", []int{attn, width}},
				Param{p + "self_attn." + proj + ".bias", []int{attn}})
		}
		ps = append(ps,
			Param{p + "self_attn.out_proj.weight", []int{width, attn}},
			Param{p + "self_attn.out_proj.bias", []int{width}})
		ps = append(ps,
			Param{p + "layer_norm1.weight", []int{width}},
			Param{p + "layer_norm1.bias", []int{width}},
			Param{p + "mlp.fc1.weight", []int{inter, width}},
			Param{p + "mlp.fc1.bias", []int{inter}},
			Param{p + "mlp.fc2.weight", []int{width, inter}},
			Param{p + "mlp.fc2.bias", []int{width}},
			Param{p + "layer_norm2.weight", []int{width}},
			Param{p + "layer_norm2.bias", []int{width}})
	}
	return ps
}

// Params lists every parameter a tower needs, with its shape, in a stable order.
// logit_scale belongs to neither tower; see LogitScaleParam.
func (c Config) Params(t Tower) []Param {
	if t == Vision {
		v := c.VisionConfig
		ps := []Param{
			{"vision_model.embeddings.class_embedding", []int{v.HiddenSize}},
			{"vision_model.embeddings.patch_embedding.weight", []int{v.HiddenSize, v.NumChannels, v.PatchSize, v.PatchSize}},
			{"vision_model.embeddings.position_embedding.weight", []int{v.NumPatches() + 1, v.HiddenSize}},
			{"vision_model.pre_layrnorm.weight", []int{v.HiddenSize}},
			{"vision_model.pre_layrnorm.bias", []int{v.HiddenSize}},
		}
		ps = append(ps, encoderParams("vision_model", v.NumHiddenLayers, v.HiddenSize, v.AttentionWidth(), v.IntermediateSize)...)
		return append(ps,
			Param{"vision_model.post_layernorm.weight", []int{v.HiddenSize}},
			Param{"vision_model.post_layernorm.bias", []int{v.HiddenSize}},
			Param{"visual_projection.weight", []int{c.ProjectionDim, v.HiddenSize}})
	}
	t2 := c.TextConfig
	ps := []Param{
		{"text_model.embeddings.token_embedding.weight", []int{t2.VocabSize, t2.HiddenSize}},
		{"text_model.embeddings.position_embedding.weight", []int{t2.MaxPositionEmbeddings, t2.HiddenSize}},
	}
	ps = append(ps, encoderParams("text_model", t2.NumHiddenLayers, t2.HiddenSize, t2.HiddenSize, t2.IntermediateSize)...)
	return append(ps,
		Param{"text_model.final_layer_norm.weight", []int{t2.HiddenSize}},
		Param{"text_model.final_layer_norm.bias", []int{t2.HiddenSize}},
		Param{"text_projection.weight", []int{c.ProjectionDim, t2.HiddenSize}})
}

// LogitScaleParam is the scalar CLIP multiplies cosines by, after exp().
var LogitScaleParam = Param{"logit_scale", []int{}}

// Check verifies that w holds every parameter of the tower with the right shape.
func (w Weights) Check(c Config, t Tower) error {
	for _, p := range c.Params(t) {
		got, ok := w[p.Name]
		if !ok {
			return fmt.Errorf("missing weight %q (%s tower)", p.Name, t)
		}
		if !sameShape(got.Shape, p.Shape) {
			return fmt.Errorf("weight %q has shape %v, config wants %v", p.Name, got.Shape, p.Shape)
		}
		if len(got.Data) != NumElements(p.Shape) {
			return fmt.Errorf("weight %q holds %d values for shape %v", p.Name, len(got.Data), p.Shape)
		}
	}
	return nil
}

// LogitScale returns exp(logit_scale), from the weights when present, else from
// the config's initial value.
func (w Weights) LogitScale(c Config) float64 {
	if t, ok := w[LogitScaleParam.Name]; ok && len(t.Data) == 1 {
		return math.Exp(float64(t.Data[0]))
	}
	return math.Exp(c.LogitScaleInitValue)
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// RandomWeights makes seeded random weights for every parameter of both towers,
// scaled like CLIP's initialisation so activations stay in a realistic range
// through any depth. The same config and seed always give the same weights.
func RandomWeights(c Config, seed uint64) Weights {
	w := Weights{}
	for _, t := range []Tower{Vision, Text} {
		for _, p := range c.Params(t) {
			w[p.Name] = randomParam(p, seed)
		}
	}
	// The real models learn a logit scale of 100 (the clamp): ln(100).
	w[LogitScaleParam.Name] = &Tensor{Shape: []int{}, Data: []float32{float32(math.Log(100))}}
	return w
}

// randomParam draws one parameter from its own stream (seed, name), so adding
// layers never changes the weights of the others.
func randomParam(p Param, seed uint64) *Tensor {
	h := uint64(14695981039346656037)
	for i := 0; i < len(p.Name); i++ {
		h = (h ^ uint64(p.Name[i])) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(seed, h))
	n := NumElements(p.Shape)
	data := make([]float32, n)
	name := p.Name
	switch {
	case hasSuffix(name, "layer_norm1.weight"), hasSuffix(name, "layer_norm2.weight"),
		hasSuffix(name, "layrnorm.weight"), hasSuffix(name, "post_layernorm.weight"),
		hasSuffix(name, "final_layer_norm.weight"):
		for i := range data {
			data[i] = float32(1 + 0.1*rng.NormFloat64())
		}
	case len(p.Shape) == 1 && hasSuffix(name, ".bias"):
		for i := range data {
			data[i] = float32(0.02 * rng.NormFloat64())
		}
	default:
		// fan-in scaled normal: std = 1/sqrt(fan_in) for matrices, 0.02 for embeddings.
		std := 0.02
		if len(p.Shape) >= 2 && !hasSuffix(name, "embedding.weight") {
			fanIn := NumElements(p.Shape[1:])
			std = 1 / math.Sqrt(float64(fanIn))
		}
		for i := range data {
			data[i] = float32(std * rng.NormFloat64())
		}
	}
	return &Tensor{Shape: append([]int{}, p.Shape...), Data: data}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
