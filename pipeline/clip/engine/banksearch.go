package engine

import (
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// BankSearch finds, for each of a frame's patch vectors, its largest dot
// product with the rows of a golden-sample memory bank, as one matrix
// product in ONNX Runtime: Gemm(queries, bankᵀ) then ReduceMax over the bank.
// MLAS's SGEMM does this about 20x faster than plain Go on an AVX2 CPU
// (docs/benchmarks.md). Safe for concurrent use (calls are serialised).
type BankSearch struct {
	mu    sync.Mutex
	s     *ort.DynamicAdvancedSession
	width int
}

// NewBankSearch builds the search over bank [rows, width] (row-major). The
// session holds its own copy of the bank.
func NewBankSearch(bank []float32, width int, opts SessionOptions) (*BankSearch, error) {
	if !ortReady() {
		return nil, errNotInitialized
	}
	if width <= 0 || len(bank) == 0 || len(bank)%width != 0 {
		return nil, fmt.Errorf("bank search: %d values are not rows of width %d", len(bank), width)
	}
	rows := len(bank) / width
	g := &onnxproto.Graph{
		Name: "bank_search",
		Inputs: []*onnxproto.ValueInfo{{Name: "queries", ElemType: onnxproto.Float,
			Shape: []onnxproto.Dim{onnxproto.Symbolic("queries"), onnxproto.Fixed(width)}}},
		Initializers: []*onnxproto.Tensor{onnxproto.FloatTensor("bank", []int{rows, width}, bank)},
		Nodes: []*onnxproto.Node{
			{Name: "products", OpType: "Gemm", Inputs: []string{"queries", "bank"}, Outputs: []string{"products"},
				Attributes: []*onnxproto.Attribute{{Name: "transB", Type: onnxproto.AttrInt, I: 1}}},
			{Name: "best", OpType: "ReduceMax", Inputs: []string{"products"}, Outputs: []string{"best"},
				Attributes: []*onnxproto.Attribute{
					{Name: "axes", Type: onnxproto.AttrInts, Ints: []int64{1}},
					{Name: "keepdims", Type: onnxproto.AttrInt, I: 0},
				}},
		},
		Outputs: []*onnxproto.ValueInfo{{Name: "best", ElemType: onnxproto.Float,
			Shape: []onnxproto.Dim{onnxproto.Symbolic("queries")}}},
	}
	data, err := onnxproto.NewModel(g).Encode()
	if err != nil {
		return nil, fmt.Errorf("bank search over %d rows: %w", rows, err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("bank search: create session options: %w", err)
	}
	defer so.Destroy()
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("bank search: set intra-op threads: %w", err)
		}
	}
	if !opts.SpinWait {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("bank search: turn off spin-waiting: %w", err)
		}
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"queries"}, []string{"best"}, so)
	if err != nil {
		return nil, fmt.Errorf("bank search over %d rows: %w", rows, err)
	}
	return &BankSearch{s: s, width: width}, nil
}

// MaxDot sets best[i] to the largest dot product of query row i ([len(best),
// width], row-major) with any bank row.
func (b *BankSearch) MaxDot(queries, best []float32) error {
	n := len(best)
	if n == 0 || len(queries) != n*b.width {
		return fmt.Errorf("bank search: %d query values for %d rows of width %d", len(queries), n, b.width)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	in, err := ort.NewTensor(ort.NewShape(int64(n), int64(b.width)), queries)
	if err != nil {
		return fmt.Errorf("bank search: wrap queries: %w", err)
	}
	defer in.Destroy()
	out, err := ort.NewTensor(ort.NewShape(int64(n)), best)
	if err != nil {
		return fmt.Errorf("bank search: wrap result: %w", err)
	}
	defer out.Destroy()
	if err := b.s.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return fmt.Errorf("bank search: %w", err)
	}
	return nil
}

// Close releases the session.
func (b *BankSearch) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s != nil {
		b.s.Destroy()
		b.s = nil
	}
}
