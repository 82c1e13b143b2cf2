package graph

import (
	"fmt"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"strconv"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// Graph input and output names, as in Hugging Face Optimum's CLIP export.
const (
	InputPixels        = "pixel_values"
	InputIDs           = "input_ids"
	InputAttentionMask = "attention_mask"
	OutputImageEmbeds  = bundle.OutputImageEmbeds
	OutputTextEmbeds   = "text_embeds"
	// HiddenStatesOutput is the name prefix of the DebugOutputs.
	HiddenStatesOutput = "hidden_states."
	// PatchTokensOutput is the name prefix of the vision graph's patch
	// tokens: patch_tokens.<l> [batch_size, grid*grid, width] is h_l, the
	// output of block l (h_0: after pre_layrnorm), without the class token,
	// patches row-major.
	PatchTokensOutput = bundle.PatchTokensOutput
	// OutputPatchEmbeds is the vision graph's dense embeddings
	// [batch_size, grid*grid, projection_dim]: for each patch, the last
	// block's value path alone, through post_layernorm and
	// visual_projection, scaled to unit length.
	OutputPatchEmbeds = bundle.OutputPatchEmbeds

	// PatchLayersMetadata is the vision model's metadata key listing the
	// layers of its patch_tokens outputs, comma-separated ("12,18").
	PatchLayersMetadata = "linesight.patch_layers"

	batchDim = "batch_size"
	seqDim   = "sequence_length"
)

// Build writes one tower of CLIP as an ONNX model. The weights must hold
// every parameter of the tower with the shapes cfg implies. Float32
// initializers may share memory with w, so w must not change until the model
// has been saved.
func Build(cfg arch.Config, w arch.Weights, t arch.Tower, opts Options) (*onnxproto.Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("build %s graph: %w", t, err)
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("build %s graph: %w", t, err)
	}
	patchLayers, err := opts.patchLayers(cfg.VisionConfig)
	if err != nil && t == arch.Vision {
		return nil, fmt.Errorf("build %s graph: %w", t, err)
	}
	if t != arch.Vision && t != arch.Text {
		return nil, fmt.Errorf("build graph: unknown tower %q (vision, text)", t)
	}
	if err := w.Check(cfg, t); err != nil {
		return nil, fmt.Errorf("build %s graph: %w", t, err)
	}

	if t == arch.Vision && opts.Variant == INT8Static && len(opts.Ranges) == 0 {
		return nil, fmt.Errorf("build %s graph: int8static needs the linear layers' input ranges calibrated on images (--calibration-images)", t)
	}
	var b *builder
	if t == arch.Vision {
		b = buildVision(cfg, w, opts, patchLayers)
	} else {
		b = buildText(cfg, w, opts)
	}
	m := onnxproto.NewModel(b.g)
	m.DocString = fmt.Sprintf("CLIP %s tower, %s", t, opts.Variant)
	m.Metadata = []onnxproto.StringEntry{
		{Key: "linesight.tower", Value: string(t)},
		{Key: "linesight.variant", Value: opts.Variant.String()},
	}
	if t == arch.Vision {
		m.Metadata = append(m.Metadata, onnxproto.StringEntry{Key: PatchLayersMetadata, Value: joinInts(patchLayers)})
	}
	return m, nil
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// progressFor adapts Options.Progress to one stage.
func progressFor(opts Options, stage string) func(done, total int) {
	if opts.Progress == nil {
		return nil
	}
	return func(done, total int) { opts.Progress(stage, done, total) }
}

// finish turns the network's float values into float32 graph outputs: the
// embeddings, and with DebugOutputs every hidden state.
func (b *builder) finish(opts Options, embedsName string, embeds string, dim int, hidden []string, seq onnxproto.Dim, width int) {
	b.scope = ""
	b.opTo(embedsName, castOrIdentity(b.act), []string{embeds}, castAttrs(b.act)...)
	b.g.Outputs = append(b.g.Outputs, &onnxproto.ValueInfo{
		Name: embedsName, ElemType: onnxproto.Float,
		Shape: []onnxproto.Dim{onnxproto.Symbolic(batchDim), onnxproto.Fixed(dim)},
	})
	if !opts.DebugOutputs {
		return
	}
	for i, h := range hidden {
		name := fmt.Sprintf("%s%d", HiddenStatesOutput, i)
		b.opTo(name, castOrIdentity(b.act), []string{h}, castAttrs(b.act)...)
		b.g.Outputs = append(b.g.Outputs, &onnxproto.ValueInfo{
			Name: name, ElemType: onnxproto.Float,
			Shape: []onnxproto.Dim{onnxproto.Symbolic(batchDim), seq, onnxproto.Fixed(width)},
		})
	}
}

// castOrIdentity names the node that copies a value of type act into a
// float32 graph output.
func castOrIdentity(act onnxproto.DataType) string {
	if act == onnxproto.Float {
		return "Identity"
	}
	return "Cast"
}

func castAttrs(act onnxproto.DataType) []*onnxproto.Attribute {
	if act == onnxproto.Float {
		return nil
	}
	return []*onnxproto.Attribute{intAttr("to", int64(onnxproto.Float))}
}
