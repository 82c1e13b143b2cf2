package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randomMatrix(rng *rand.Rand, rows, width int) []float32 {
	v := make([]float32, rows*width)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func TestBankSearchMatchesPlainLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const rows, width = 301, 37
	bank := randomMatrix(rng, rows, width)
	s, err := NewBankSearch(bank, width, SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Two frame sizes through the same session.
	for _, n := range []int{49, 5} {
		q := randomMatrix(rng, n, width)
		best := make([]float32, n)
		if err := s.MaxDot(q, best); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			want := math.Inf(-1)
			for j := 0; j < rows; j++ {
				var d float64
				for k := 0; k < width; k++ {
					d += float64(q[i*width+k]) * float64(bank[j*width+k])
				}
				want = math.Max(want, d)
			}
			if diff := math.Abs(float64(best[i]) - want); diff > 1e-4*math.Max(1, math.Abs(want)) {
				t.Fatalf("%d queries: row %d max dot %g, want %g", n, i, best[i], want)
			}
		}
	}
	if err := s.MaxDot(make([]float32, 10), make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "10 query values for 3 rows of width 37") {
		t.Errorf("wrong query size: got %v", err)
	}
	if _, err := NewBankSearch(make([]float32, 10), 3, SessionOptions{}); err == nil || !strings.Contains(err.Error(), "not rows of width 3") {
		t.Errorf("ragged bank: got %v", err)
	}
}

// BenchmarkBankSearchORT is one layer's bank search at ViT-L/14 sizes in
// ONNX Runtime: 256 patches against bank vectors of width 1,024: 8,192
// (32 golden images unbounded) and 2,048 (the bound of a bank, per layer).
func BenchmarkBankSearchORT(b *testing.B) {
	for _, rows := range []int{8192, 2048} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			const queries, width = 256, 1024
			s, err := NewBankSearch(randomMatrix(rng, rows, width), width, SessionOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			q, best := randomMatrix(rng, queries, width), make([]float32, queries)
			for b.Loop() {
				if err := s.MaxDot(q, best); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
