package preprocess

import (
	"testing"
)

func TestBatch(t *testing.T) {
	p := Params{ShortestEdge: 8, CropHeight: 4, CropWidth: 5, Mean: openAIMean, Std: openAIStd}
	b := NewBatch(3, p)
	if b.Cap() != 3 || b.Len() != 0 || len(b.Data()) != 0 {
		t.Fatalf("new batch: cap %d, len %d, data %d", b.Cap(), b.Len(), len(b.Data()))
	}
	for i := range 3 {
		s := b.Slot(i)
		if len(s) != 60 {
			t.Fatalf("slot %d holds %d values, want 3*4*5", i, len(s))
		}
		for j := range s {
			s[j] = float32(i*100 + j)
		}
		if cap(s) != len(s) {
			t.Errorf("slot %d can be appended into its neighbour", i)
		}
	}
	b.SetLen(2)
	data := b.Data()
	if len(data) != 120 || data[0] != 0 || data[59] != 59 || data[60] != 100 || data[119] != 159 {
		t.Errorf("data does not hold slots 0 and 1 back to back: len %d", len(data))
	}
	if b.Shape() != [4]int64{2, 3, 4, 5} {
		t.Errorf("shape %v", b.Shape())
	}

	// A slot is the tensor buffer the Preprocessor fills.
	pre := New(p)
	defer pre.Close()
	if err := pre.Gray(make([]byte, 64), 8, 8, 8, b.Slot(2)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(){func() { b.Slot(3) }, func() { b.SetLen(4) }, func() { b.SetLen(-1) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("out-of-range use did not panic")
				}
			}()
			bad()
		}()
	}
}
