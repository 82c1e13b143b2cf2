package engine

import (
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Vision is a loaded image encoder: [n,3,H,W] pixels in, [n,dim] embeddings out.
// Its tensors are kept and reused across calls, so the steady state allocates
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

	// io caches an input/output tensor pair per batch size and caller
	// buffer, so double-buffered callers reuse tensors too.
	io map[ioKey]*visionIO
}

type ioKey struct {
	n      int
	pixels *float32 // the buffer the input tensor wraps
}

type visionIO struct {
	in  *ort.Tensor[float32]
	out *ort.Tensor[float32]
}

// maxBoundBuffers bounds the tensor cache: callers that keep handing in new
// buffers get tensors recreated instead of an ever-growing cache.
const maxBoundBuffers = 16

// OpenVision loads an image encoder and checks its interface: one float32
// input [batch,3,H,W] and an `image_embeds` output (or a single one) [batch,dim].
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
	s, err := openSession(path, []string{in.Name}, []string{out.Name}, opts, in.Name, []int64{3, d[2], d[3]})
	if err != nil {
		return nil, err
	}
	v := &Vision{
		s: s, input: in.Name, output: out.Name,
		height: int(d[2]), width: int(d[3]), dim: int(out.Dimensions[1]),
		io: map[ioKey]*visionIO{},
	}
	if d[0] > 0 {
		v.maxBatch = int(d[0])
	}
	return v, nil
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
	if err := v.s.ort.Run([]ort.Value{io.in}, []ort.Value{io.out}); err != nil {
		return nil, fmt.Errorf("run vision model %s on %d images: %w", v.s.path, n, err)
	}
	return io.out.GetData(), nil
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
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(n), int64(v.dim)))
	if err != nil {
		in.Destroy()
		return nil, fmt.Errorf("allocate vision output: %w", err)
	}
	io := &visionIO{in: in, out: out}
	v.io[key] = io
	return io, nil
}

func (v *Vision) releaseTensors() {
	for k, io := range v.io {
		io.in.Destroy()
		io.out.Destroy()
		delete(v.io, k)
	}
}

// Close releases the session and its tensors.
func (v *Vision) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.releaseTensors()
	v.s.close()
}
