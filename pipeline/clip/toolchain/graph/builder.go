package graph

import (
	"fmt"
	"math"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// builder appends nodes and initializers to one graph, giving every value a
// unique name under the current scope (e.g. "/encoder/layers.3/attn").
type builder struct {
	g       *onnxproto.Graph
	w       arch.Weights
	variant Variant
	// act is the element type of activations inside the network: float16 for
	// FP16, float32 otherwise.
	act    onnxproto.DataType
	scope  string
	counts map[string]int
	consts map[string]string
	// inits holds the initializer names added so far: a parameter used by
	// two paths (post_layernorm and visual_projection serve the class token
	// and the patches) is stored once.
	inits map[string]bool
	// ranges are INT8Static's calibrated input ranges; calibrate adds the
	// linear layers' inputs as outputs; calls counts each prefix's uses.
	ranges    Ranges
	calibrate bool
	calls     map[string]int
}

func newBuilder(name string, w arch.Weights, v Variant) *builder {
	act := onnxproto.Float
	if v == FP16 {
		act = onnxproto.Float16
	}
	return &builder{
		g:       &onnxproto.Graph{Name: name},
		w:       w,
		variant: v,
		act:     act,
		counts:  map[string]int{},
		consts:  map[string]string{},
		inits:   map[string]bool{},
		calls:   map[string]int{},
	}
}

// unique returns scope/base, numbered when the name repeats.
func (b *builder) unique(base string) string {
	name := b.scope + "/" + base
	n := b.counts[name]
	b.counts[name] = n + 1
	if n > 0 {
		name = fmt.Sprintf("%s_%d", name, n)
	}
	return name
}

// op adds a node of the default domain with one output and returns its name.
func (b *builder) op(opType string, inputs []string, attrs ...*onnxproto.Attribute) string {
	return b.opIn(onnxproto.DomainONNX, opType, inputs, attrs...)
}

// opIn adds a node of the given domain with one output.
func (b *builder) opIn(domain, opType string, inputs []string, attrs ...*onnxproto.Attribute) string {
	name := b.unique(opType)
	out := name + "_output_0"
	b.g.Nodes = append(b.g.Nodes, &onnxproto.Node{
		Name: name, OpType: opType, Domain: domain,
		Inputs: inputs, Outputs: []string{out}, Attributes: attrs,
	})
	return out
}

// opTo adds a node whose single output has a chosen name (graph outputs).
func (b *builder) opTo(out, opType string, inputs []string, attrs ...*onnxproto.Attribute) {
	b.g.Nodes = append(b.g.Nodes, &onnxproto.Node{
		Name: b.unique(opType), OpType: opType,
		Inputs: inputs, Outputs: []string{out}, Attributes: attrs,
	})
}

func intAttr(name string, v int64) *onnxproto.Attribute {
	return &onnxproto.Attribute{Name: name, Type: onnxproto.AttrInt, I: v}
}

func intsAttr(name string, v ...int64) *onnxproto.Attribute {
	return &onnxproto.Attribute{Name: name, Type: onnxproto.AttrInts, Ints: v}
}

func floatAttr(name string, v float32) *onnxproto.Attribute {
	return &onnxproto.Attribute{Name: name, Type: onnxproto.AttrFloat, F: v}
}

// addInitializer appends a tensor and returns its name. A name already added
// is not added again: names are derived from the parameter and the variant's
// transformation, so the same name always holds the same values.
func (b *builder) addInitializer(t *onnxproto.Tensor) string {
	if b.inits[t.Name] {
		return t.Name
	}
	b.inits[t.Name] = true
	b.g.Initializers = append(b.g.Initializers, t)
	return t.Name
}

// ints is an int64 constant, shared by every node that needs the same values.
func (b *builder) ints(vals ...int64) string {
	key := fmt.Sprint("i64", vals)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := fmt.Sprintf("const_i64_%d", len(b.consts))
	b.consts[key] = name
	return b.addInitializer(onnxproto.Int64Tensor(name, []int{len(vals)}, vals))
}

// scalar is a 0-D constant of the activation type, shared like ints.
func (b *builder) scalar(v float32) string { return b.scalarOf(b.act, v) }

func (b *builder) scalarOf(dt onnxproto.DataType, v float32) string {
	key := fmt.Sprint(dt, math.Float32bits(v))
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := fmt.Sprintf("const_%s_%d", dt, len(b.consts))
	b.consts[key] = name
	return b.addInitializer(floatTensorOf(dt, name, []int{}, []float32{v}))
}

func floatTensorOf(dt onnxproto.DataType, name string, shape []int, data []float32) *onnxproto.Tensor {
	if dt == onnxproto.Float16 {
		return onnxproto.Float16Tensor(name, shape, data)
	}
	return onnxproto.FloatTensor(name, shape, data)
}

// weight adds a Hugging Face parameter as it is, in the activation type.
func (b *builder) weight(name string) string {
	t := b.w[name]
	return b.addInitializer(floatTensorOf(b.act, name, t.Shape, t.Data))
}

// weightFP32 adds a parameter that stays float32 in every variant (layer norm
// parameters, which feed float32 computations).
func (b *builder) weightFP32(name string) string {
	t := b.w[name]
	return b.addInitializer(onnxproto.FloatTensor(name, t.Shape, t.Data))
}

// cast converts x to dt; a no-op when from == dt.
func (b *builder) cast(x string, from, dt onnxproto.DataType) string {
	if from == dt {
		return x
	}
	return b.op("Cast", []string{x}, intAttr("to", int64(dt)))
}

// layerNorm normalises over the last axis with fused LayerNormalization
// (opset 17), always in float32: float16 sums of squares overflow in ViTs.
func (b *builder) layerNorm(x, prefix string, eps float64) string {
	in := b.cast(x, b.act, onnxproto.Float)
	y := b.op("LayerNormalization",
		[]string{in, b.weightFP32(prefix + ".weight"), b.weightFP32(prefix + ".bias")},
		intAttr("axis", -1), floatAttr("epsilon", float32(eps)))
	return b.cast(y, onnxproto.Float, b.act)
}

// linear is x @ W^T (+ bias) for a Hugging Face Linear with weight [out, in].
// FP32 and FP16 store W^T as [in, out] so MatMul runs without a Transpose;
// INT8 uses DynamicQuantizeMatMul with the bias fused in.
func (b *builder) linear(x, prefix string, hasBias bool) string {
	if b.calibrate {
		b.calibrationOutput(x, prefix)
	}
	wName := prefix + ".weight"
	w := b.w[wName]
	out, in := w.Shape[0], w.Shape[1]
	wt := transpose(w.Data, out, in)
	if b.variant.quantized() {
		return b.quantizedLinearOf(b.variant, x, wName, wt, in, out, prefix, hasBias)
	}
	y := b.op("MatMul", []string{x, b.addInitializer(floatTensorOf(b.act, wName+".T", []int{in, out}, wt))})
	if hasBias {
		y = b.op("Add", []string{y, b.weight(prefix + ".bias")})
	}
	return y
}

// transpose turns a row-major [rows, cols] matrix into [cols, rows], in
// tiles so that both sides stay in cache (ViT-L has 300M weights to turn).
func transpose(m []float32, rows, cols int) []float32 {
	const tile = 32
	t := make([]float32, len(m))
	for r0 := 0; r0 < rows; r0 += tile {
		r1 := min(r0+tile, rows)
		for c0 := 0; c0 < cols; c0 += tile {
			c1 := min(c0+tile, cols)
			for r := r0; r < r1; r++ {
				for c := c0; c < c1; c++ {
					t[c*rows+r] = m[r*cols+c]
				}
			}
		}
	}
	return t
}
