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

	// io caches one input/output tensor pair per batch size, bound to the
	// caller's pixel buffer.
	io map[int]*visionIO
}

type visionIO struct {
	pixels *float32 // the buffer the input tensor wraps
	in     *ort.Tensor[float32]
	out    *ort.Tensor[float32]
}

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
		io: map[int]*visionIO{},
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
// slice ([n,dim]) is reused by the next call with the same n: copy what you keep.
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

// bind returns the tensors for a batch of n over pixels, creating them only
// when the batch size or the buffer changes.
func (v *Vision) bind(pixels []float32, n int) (*visionIO, error) {
	io := v.io[n]
	if io != nil && io.pixels == &pixels[0] {
		return io, nil
	}
	if io != nil {
		io.in.Destroy()
	} else {
		out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(n), int64(v.dim)))
		if err != nil {
			return nil, fmt.Errorf("allocate vision output: %w", err)
		}
		io = &visionIO{out: out}
		v.io[n] = io
	}
	in, err := ort.NewTensor(ort.NewShape(int64(n), 3, int64(v.height), int64(v.width)), pixels)
	if err != nil {
		return nil, fmt.Errorf("wrap vision input: %w", err)
	}
	io.in, io.pixels = in, &pixels[0]
	return io, nil
}

// Close releases the session and its tensors.
func (v *Vision) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for n, io := range v.io {
		if io.in != nil {
			io.in.Destroy()
		}
		io.out.Destroy()
		delete(v.io, n)
	}
	v.s.close()
}
