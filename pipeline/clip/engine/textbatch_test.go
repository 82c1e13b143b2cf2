package engine

import (
	"math/rand/v2"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
)

// Many prompts reach the session in runs of at most TextBatch rows, and
// give exactly the embeddings of one run over them all.
func TestTextEncodesInBoundedBatches(t *testing.T) {
	cfg, w := tiny(t)
	txt, err := OpenText(save(t, cfg, w, arch.Text, graph.Options{}, nil), 77, SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer txt.Close()
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([][]int64, 2*TextBatch+22)
	for i := range rows {
		rows[i] = make([]int64, 77)
		n := 2 + r.IntN(20)
		rows[i][0] = 49406
		for k := 1; k < n-1; k++ {
			rows[i][k] = int64(1 + r.IntN(49000))
		}
		rows[i][n-1] = 49407
	}
	var runs []int64
	session := txt.run
	txt.run = func(in, out []ort.Value) error {
		runs = append(runs, in[0].GetShape()[0])
		return session(in, out)
	}
	batched, err := txt.Embed(rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{TextBatch, TextBatch, 22}; !slices.Equal(runs, want) {
		t.Errorf("runs of %v rows, want %v", runs, want)
	}

	runs = nil
	txt.batch = len(rows)
	whole, err := txt.Embed(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0] != int64(len(rows)) {
		t.Fatalf("unbatched: runs of %v rows", runs)
	}
	if len(batched) != len(whole) {
		t.Fatalf("%d values batched, %d in one run", len(batched), len(whole))
	}
	for i := range whole {
		if batched[i] != whole[i] {
			t.Fatalf("row %d, value %d: %v batched, %v in one run", i/txt.Dim(), i%txt.Dim(), batched[i], whole[i])
		}
	}
}
