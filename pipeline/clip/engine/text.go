package engine

import (
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// TextBatch is the most prompts one run of the text encoder takes. Embed
// encodes more in batches of this size: ONNX Runtime's memory arena grows to
// the largest run and keeps that memory, so one run over a file of 20,000
// prompts held gigabytes for the life of the process.
const TextBatch = 64

// Text is a loaded text encoder: token ids in, [n,dim] embeddings out. It
// adapts to the model's interface: int32 or int64 ids, with or without an
// attention_mask input, a fixed or dynamic sequence length.
type Text struct {
	mu       sync.Mutex
	s        *session
	ids      string
	mask     string // empty when the model takes no attention mask
	int32IDs bool
	context  int
	dim      int
	batch    int // TextBatch; tests change it
	// run runs the session on one batch (the session's Run; tests wrap it).
	run func(inputs, outputs []ort.Value) error
}

// OpenText loads a text encoder. defaultContext (77 for CLIP) is used when the
// model leaves the sequence length dynamic.
func OpenText(path string, defaultContext int, opts SessionOptions) (*Text, error) {
	if !ortReady() {
		return nil, errNotInitialized
	}
	ins, outs, err := modelIO(path)
	if err != nil {
		return nil, err
	}
	t := &Text{context: defaultContext}
	var names []string
	for _, in := range ins {
		switch in.Name {
		case "input_ids":
			t.ids = in.Name
		case "attention_mask":
			t.mask = in.Name
		default:
			return nil, fmt.Errorf("text model %s: unexpected input %q (inputs: %s)", path, in.Name, describe(ins))
		}
		switch in.DataType {
		case ort.TensorElementDataTypeInt64:
		case ort.TensorElementDataTypeInt32:
			t.int32IDs = true
		default:
			return nil, fmt.Errorf("text model %s: input %q is %s, want int32 or int64", path, in.Name, in.DataType)
		}
		if len(in.Dimensions) != 2 {
			return nil, fmt.Errorf("text model %s: input %q has shape %v, want [batch,sequence]", path, in.Name, in.Dimensions)
		}
		if n := in.Dimensions[1]; n > 0 {
			t.context = int(n)
		}
		names = append(names, in.Name)
	}
	if t.ids == "" {
		return nil, fmt.Errorf("text model %s: no input_ids input (inputs: %s)", path, describe(ins))
	}
	if t.context <= 0 {
		return nil, fmt.Errorf("text model %s: sequence length is dynamic and no default context was given", path)
	}
	out, err := pickOutput(outs, "text_embeds")
	if err != nil {
		return nil, fmt.Errorf("text model %s: %w", path, err)
	}
	if out.DataType != ort.TensorElementDataTypeFloat || len(out.Dimensions) != 2 || out.Dimensions[1] <= 0 {
		return nil, fmt.Errorf("text model %s: output %q is %s %v, want float32 [batch,dim]", path, out.Name, out.DataType, out.Dimensions)
	}
	t.dim = int(out.Dimensions[1])
	t.s, err = openSession(path, names, []string{out.Name}, opts, "", nil)
	if err != nil {
		return nil, err
	}
	t.batch, t.run = TextBatch, t.s.ort.Run
	return t, nil
}

// Context is the sequence length every row of ids must have.
func (t *Text) Context() int { return t.context }

// Dim is the embedding size.
func (t *Text) Dim() int { return t.dim }

// Provider names the execution provider that runs the model.
func (t *Text) Provider() string { return t.s.provider }

// Embed encodes rows of token ids (each Context() long, zero padded) into a
// new [n,dim] slice, at most TextBatch rows per run of the model. Text
// encoding is off the hot path, so it allocates freely.
func (t *Text) Embed(rows [][]int64) ([]float32, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]float32, 0, len(rows)*t.dim)
	for start := 0; start < len(rows); start += t.batch {
		part, err := t.embedBatch(rows[start:min(start+t.batch, len(rows))], start)
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	return out, nil
}

// embedBatch runs the model once on rows, the first of which is row first
// of the caller's.
func (t *Text) embedBatch(rows [][]int64, first int) ([]float32, error) {
	n := len(rows)
	flat := make([]int64, 0, n*t.context)
	mask := make([]int64, 0, n*t.context)
	for i, r := range rows {
		if len(r) != t.context {
			return nil, fmt.Errorf("text: row %d has %d ids, the model takes %d", first+i, len(r), t.context)
		}
		flat = append(flat, r...)
		// Real tokens run from SOT to the EOT, the row's largest id; the rest is padding.
		eot := argmax(r)
		for j := range r {
			mask = append(mask, boolInt(j <= eot))
		}
	}
	shape := ort.NewShape(int64(n), int64(t.context))
	feeds := [][]int64{flat}
	if t.mask != "" {
		feeds = append(feeds, mask)
	}
	var inputs []ort.Value
	for _, data := range feeds {
		v, err := newIDTensor(shape, data, t.int32IDs)
		if err != nil {
			return nil, err
		}
		defer v.Destroy()
		inputs = append(inputs, v)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(n), int64(t.dim)))
	if err != nil {
		return nil, fmt.Errorf("allocate text output: %w", err)
	}
	defer out.Destroy()
	t.mu.Lock()
	err = t.run(inputs, []ort.Value{out})
	t.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("run text model %s on prompts %d to %d: %w", t.s.path, first+1, first+n, err)
	}
	return append([]float32(nil), out.GetData()...), nil
}

func newIDTensor(shape ort.Shape, data []int64, as32 bool) (ort.Value, error) {
	if !as32 {
		return ort.NewTensor(shape, data)
	}
	d32 := make([]int32, len(data))
	for i, v := range data {
		d32[i] = int32(v)
	}
	return ort.NewTensor(shape, d32)
}

func argmax(r []int64) int {
	best := 0
	for i, v := range r {
		if v > r[best] {
			best = i
		}
	}
	return best
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Close releases the session.
func (t *Text) Close() { t.s.close() }
