package anomaly

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkBankSearch is one layer's bank search at ViT-L/14 sizes: the 256
// patches of a frame against 8,192 bank vectors of width 1,024.
func BenchmarkBankSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	const queries, bankRows, width = 256, 8192, 1024
	q, bank := randomRows(rng, queries, width), randomRows(rng, bankRows, width)
	best := make([]float32, queries)
	b.SetBytes(int64(len(bank)) * 4)
	for b.Loop() {
		MaxDot(q, bank, width, best)
	}
}

// BenchmarkFewShotViTL14 is a frame's whole few-shot map for ViT-L/14 with
// 16 golden images: 2 memory layers, 16 x 256 = 4,096 bank vectors each,
// normalisation included.
func BenchmarkFewShotViTL14(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	const patches, width, golden = 256, 1024, 16
	bank, err := NewBank([]int{12, 18}, patches, width)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < golden; i++ {
		if err := bank.Add([][]float32{randomRows(rng, patches, width), randomRows(rng, patches, width)}); err != nil {
			b.Fatal(err)
		}
	}
	frame := [][]float32{randomRows(rng, patches, width), randomRows(rng, patches, width)}
	out := make([]float64, patches)
	for b.Loop() {
		if err := bank.FewShot(frame, out); err != nil {
			b.Fatal(err)
		}
	}
}
