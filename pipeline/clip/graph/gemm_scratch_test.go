package graph

import (
	"os"
	"testing"
	"time"

	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

func TestScratchGemm(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	for _, mkn := range [][3]int{{1024, 1024, 1024}, {50, 768, 3072}, {50, 3072, 768}, {50, 768, 768}, {200, 768, 3072}} {
		M, K, N := mkn[0], mkn[1], mkn[2]
		w := make([]float32, K*N)
		for i := range w {
			w[i] = float32(i%7) * 0.01
		}
		g := &onnxproto.Graph{Name: "g",
			Inputs:       []*onnxproto.ValueInfo{{Name: "x", ElemType: onnxproto.Float, Shape: []onnxproto.Dim{onnxproto.Fixed(M), onnxproto.Fixed(K)}}},
			Outputs:      []*onnxproto.ValueInfo{{Name: "y", ElemType: onnxproto.Float, Shape: []onnxproto.Dim{onnxproto.Fixed(M), onnxproto.Fixed(N)}}},
			Initializers: []*onnxproto.Tensor{onnxproto.FloatTensor("w", []int{K, N}, w)},
			Nodes:        []*onnxproto.Node{{OpType: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}},
		}
		s := newSession(t, onnxproto.NewModel(g), onnxproto.SaveOptions{})
		in := floatInput(t, []int64{int64(M), int64(K)}, make([]float32, M*K))
		s.run(t, in)
		n := 50
		start := time.Now()
		for i := 0; i < n; i++ {
			s.run(t, in)
		}
		el := time.Since(start).Seconds() / float64(n)
		t.Logf("%v: %.1f GFLOP/s", mkn, 2*float64(M*K*N)/el/1e9)
	}
}
