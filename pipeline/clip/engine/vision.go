package engine

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// Vision is a loaded image encoder: [n,3,H,W] pixels in, [n,dim] embeddings out,
// and, when the model has them, the patch outputs anomaly maps are made from
// (patch_tokens.<l> and patch_embeds, see bundle.PatchTokensOutput), all from
// one run. Its tensors are kept and reused across calls, so the steady state allocates
// nothing on the Go side. Safe for concurrent use (calls are serialised).
type Vision struct {
	mu       sync.Mutex
	s        *session
	input    string
	output   string
	height   int
	width    int
	dim      int
	maxBatch int // >0 when the model was exported with a fixed batch size

	// The patch outputs the model has; outputs lists the session's outputs:
	// the embedding, then the patch tokens in patchLayers order, then
	// patch_embeds when hasPatchEmbeds.
	outputs        []string
	patchLayers    []int
	hasPatchEmbeds bool
	patches        int // patches per image (grid*grid), 0 without patch outputs
	patchWidth     int // width of the patch tokens

	// io caches an input/output tensor pair per batch size and caller
	// buffer, so double-buffered callers reuse tensors too.
	io map[ioKey]*visionIO
}

type ioKey struct {
	n      int
	pixels *float32 // the buffer the input tensor wraps
}

type visionIO struct {
	in   *ort.Tensor[float32]
	outs []*ort.Tensor[float32] // in Vision.outputs order
	// The same tensors as Run takes them, built once.
	inValues, outValues []ort.Value
}

// maxBoundBuffers bounds the tensor cache: callers that keep handing in new
// buffers get tensors recreated instead of an ever-growing cache.
const maxBoundBuffers = 16

// OpenVision loads an image encoder and checks its interface: one float32
// input [batch,3,H,W] and an `image_embeds` output (or a single one)
// [batch,dim]. Patch outputs, when the model has them, are run with it; a
// model without them embeds images all the same.
func OpenVision(path string, opts SessionOptions) (*Vision, error) {
	if !ortReady() {
		return nil, errNotInitialized
	}
	ins, outs, err := modelIO(path)
	if err != nil {
		return nil, err
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("vision model %s: want one input (pixel_values), found %d: %s", path, len(ins), describe(ins))
	}
	in := ins[0]
	if in.DataType != ort.TensorElementDataTypeFloat {
		return nil, fmt.Errorf("vision model %s: input %q is %s; LineSight feeds float32 pixels", path, in.Name, in.DataType)
	}
	d := in.Dimensions
	if len(d) != 4 || d[1] != 3 || d[2] <= 0 || d[3] <= 0 {
		return nil, fmt.Errorf("vision model %s: input %q has shape %v, want [batch,3,height,width] with fixed height and width", path, in.Name, d)
	}
	out, err := pickOutput(outs, "image_embeds")
	if err != nil {
		return nil, fmt.Errorf("vision model %s: %w", path, err)
	}
	if out.DataType != ort.TensorElementDataTypeFloat || len(out.Dimensions) != 2 || out.Dimensions[1] <= 0 {
		return nil, fmt.Errorf("vision model %s: output %q is %s %v, want float32 [batch,dim]", path, out.Name, out.DataType, out.Dimensions)
	}
	v := &Vision{
		input: in.Name, output: out.Name, outputs: []string{out.Name},
		height: int(d[2]), width: int(d[3]), dim: int(out.Dimensions[1]),
		io: map[ioKey]*visionIO{},
	}
	if err := v.findPatchOutputs(outs); err != nil {
		return nil, fmt.Errorf("vision model %s: %w", path, err)
	}
	v.s, err = openSession(path, []string{in.Name}, v.outputs, opts, in.Name, []int64{3, d[2], d[3]})
	if err != nil {
		return nil, err
	}
	if d[0] > 0 {
		v.maxBatch = int(d[0])
	}
	return v, nil
}

// findPatchOutputs adds the model's patch outputs to the session's outputs,
// checking their shapes: patch_tokens.<l> float32 [batch, patches, width] and
// patch_embeds float32 [batch, patches, dim], all with the same square number
// of patches.
func (v *Vision) findPatchOutputs(outs []ort.InputOutputInfo) error {
	var tokens []ort.InputOutputInfo
	var embeds *ort.InputOutputInfo
	for i, o := range outs {
		if o.Name == bundle.OutputPatchEmbeds {
			embeds = &outs[i]
			continue
		}
		rest, ok := strings.CutPrefix(o.Name, bundle.PatchTokensOutput)
		if !ok {
			continue
		}
		l, err := strconv.Atoi(rest)
		if err != nil || l < 0 {
			return fmt.Errorf("output %q: want %s<layer>", o.Name, bundle.PatchTokensOutput)
		}
		v.patchLayers = append(v.patchLayers, l)
		tokens = append(tokens, o)
	}
	check := func(o ort.InputOutputInfo, width int64) error {
		d := o.Dimensions
		if o.DataType != ort.TensorElementDataTypeFloat || len(d) != 3 || d[1] <= 0 || d[2] <= 0 || (width > 0 && d[2] != width) {
			want := "width"
			if width > 0 {
				want = strconv.FormatInt(width, 10)
			}
			return fmt.Errorf("output %q is %s %v, want float32 [batch,patches,%s]", o.Name, o.DataType, d, want)
		}
		g := int64(math.Round(math.Sqrt(float64(d[1]))))
		if g*g != d[1] || (v.patches > 0 && int(d[1]) != v.patches) {
			return fmt.Errorf("output %q has %d patches, want the same square grid as the other patch outputs", o.Name, d[1])
		}
		v.patches = int(d[1])
		return nil
	}
	for _, o := range tokens {
		if err := check(o, 0); err != nil {
			return err
		}
		if w := int(o.Dimensions[2]); v.patchWidth != 0 && w != v.patchWidth {
			return fmt.Errorf("output %q has width %d, the other patch tokens %d", o.Name, w, v.patchWidth)
		}
		v.patchWidth = int(o.Dimensions[2])
	}
	// Ascending layers, the outputs in the same order.
	sort.Sort(byLayer{v.patchLayers, tokens})
	for _, o := range tokens {
		v.outputs = append(v.outputs, o.Name)
	}
	if embeds != nil {
		if err := check(*embeds, int64(v.dim)); err != nil {
			return err
		}
		v.hasPatchEmbeds = true
		v.outputs = append(v.outputs, embeds.Name)
	}
	return nil
}

type byLayer struct {
	layers []int
	outs   []ort.InputOutputInfo
}

func (b byLayer) Len() int           { return len(b.layers) }
func (b byLayer) Less(i, j int) bool { return b.layers[i] < b.layers[j] }
func (b byLayer) Swap(i, j int) {
	b.layers[i], b.layers[j] = b.layers[j], b.layers[i]
	b.outs[i], b.outs[j] = b.outs[j], b.outs[i]
}

// PatchLayers lists, ascending, the layers whose patch tokens the model
// returns; nil when it returns none.
func (v *Vision) PatchLayers() []int { return append([]int(nil), v.patchLayers...) }

// HasPatchEmbeds says whether the model returns the dense patch embeddings.
func (v *Vision) HasPatchEmbeds() bool { return v.hasPatchEmbeds }

// Grid is the side of the patch grid, 0 when the model has no patch outputs.
func (v *Vision) Grid() int { return int(math.Round(math.Sqrt(float64(v.patches)))) }

// PatchWidth is the width of the patch tokens, 0 without them.
func (v *Vision) PatchWidth() int { return v.patchWidth }

// CheckPatchOutputs explains, as an error, why the model cannot give the
// patch tokens of layers or (with embeds) the dense patch embeddings; nil
// when it can. Image-level embedding works either way.
func (v *Vision) CheckPatchOutputs(layers []int, embeds bool) error {
	if (len(layers) > 0 && len(v.patchLayers) == 0) || (embeds && !v.hasPatchEmbeds) {
		return fmt.Errorf("vision model %s has no patch outputs for anomaly maps (%s<layer>, %s; it has %s): "+
			"it was not written by LineSight's graph builder, or by a version before them; "+
			"rebuild the bundle with `linesight model import` or `linesight model synth`. Image-level scoring works without them",
			v.s.path, bundle.PatchTokensOutput, bundle.OutputPatchEmbeds, strings.Join(v.outputs, ", "))
	}
	for _, l := range layers {
		if !slices.Contains(v.patchLayers, l) {
			return fmt.Errorf("vision model %s returns the patch tokens of layers %s, not of layer %d: choose among those, or rebuild the bundle with that layer",
				v.s.path, joinInts(v.patchLayers), l)
		}
	}
	return nil
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// InputSize is the height and width the model takes.
func (v *Vision) InputSize() (height, width int) { return v.height, v.width }

// Dim is the embedding size.
func (v *Vision) Dim() int { return v.dim }

// Provider names the execution provider that runs the model.
func (v *Vision) Provider() string { return v.s.provider }

// FixedBatch is the batch size the model requires, or 0 when any size works.
func (v *Vision) FixedBatch() int { return v.maxBatch }

// Embed encodes n images from pixels ([n,3,H,W], row-major). The returned
// slice ([n,dim]) is reused by the next call with the same n and buffer: copy
// what you keep.
func (v *Vision) Embed(pixels []float32, n int) ([]float32, error) {
	io, err := v.run(pixels, n)
	if err != nil {
		return nil, err
	}
	return io.outs[0].GetData(), nil
}

// Patches are the outputs of one run for n images. The slices are the
// session's tensors, reused by the next call with the same n and buffer:
// copy what you keep.
type Patches struct {
	Embeds []float32 // [n, dim], as Embed returns
	// Tokens[i] is [n, patches, PatchWidth] for layer PatchLayers()[i].
	Tokens [][]float32
	// Dense is the unit patch embeddings [n, patches, dim]; nil when the
	// model lacks them.
	Dense []float32
}

// EmbedPatches runs n images like Embed and returns every output of the run.
func (v *Vision) EmbedPatches(pixels []float32, n int) (Patches, error) {
	io, err := v.run(pixels, n)
	if err != nil {
		return Patches{}, err
	}
	p := Patches{Embeds: io.outs[0].GetData()}
	for i := range v.patchLayers {
		p.Tokens = append(p.Tokens, io.outs[1+i].GetData())
	}
	if v.hasPatchEmbeds {
		p.Dense = io.outs[len(io.outs)-1].GetData()
	}
	return p, nil
}

func (v *Vision) run(pixels []float32, n int) (*visionIO, error) {
	item := 3 * v.height * v.width
	if n <= 0 || len(pixels) < n*item {
		return nil, fmt.Errorf("vision: %d images need %d values, got %d", n, n*item, len(pixels))
	}
	if v.maxBatch > 0 && n != v.maxBatch {
		return nil, fmt.Errorf("vision: model %s takes batches of exactly %d, got %d", v.s.path, v.maxBatch, n)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	io, err := v.bind(pixels, n)
	if err != nil {
		return nil, err
	}
	if err := v.s.ort.Run(io.inValues, io.outValues); err != nil {
		return nil, fmt.Errorf("run vision model %s on %d images: %w", v.s.path, n, err)
	}
	return io, nil
}

// bind returns the tensors for a batch of n over pixels, creating them the
// first time this batch size and buffer meet.
func (v *Vision) bind(pixels []float32, n int) (*visionIO, error) {
	key := ioKey{n, &pixels[0]}
	if io := v.io[key]; io != nil {
		return io, nil
	}
	if len(v.io) >= maxBoundBuffers {
		v.releaseTensors()
	}
	in, err := ort.NewTensor(ort.NewShape(int64(n), 3, int64(v.height), int64(v.width)), pixels)
	if err != nil {
		return nil, fmt.Errorf("wrap vision input: %w", err)
	}
	io := &visionIO{in: in}
	shapes := []ort.Shape{ort.NewShape(int64(n), int64(v.dim))}
	for range v.patchLayers {
		shapes = append(shapes, ort.NewShape(int64(n), int64(v.patches), int64(v.patchWidth)))
	}
	if v.hasPatchEmbeds {
		shapes = append(shapes, ort.NewShape(int64(n), int64(v.patches), int64(v.dim)))
	}
	for i, shape := range shapes {
		out, err := ort.NewEmptyTensor[float32](shape)
		if err != nil {
			io.destroy()
			return nil, fmt.Errorf("allocate vision output %s: %w", v.outputs[i], err)
		}
		io.outs = append(io.outs, out)
		io.outValues = append(io.outValues, out)
	}
	io.inValues = []ort.Value{in}
	v.io[key] = io
	return io, nil
}

func (v *Vision) releaseTensors() {
	for k, io := range v.io {
		io.destroy()
		delete(v.io, k)
	}
}

func (io *visionIO) destroy() {
	io.in.Destroy()
	for _, o := range io.outs {
		o.Destroy()
	}
}

// Close releases the session and its tensors.
func (v *Vision) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.releaseTensors()
	v.s.close()
}
