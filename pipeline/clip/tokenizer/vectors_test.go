package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// vector is one entry of testdata/tokenizer_vectors.json: ids published by
// other CLIP tokenizer implementations, each naming its source.
type vector struct {
	Text   string  `json:"text"`
	IDs    []int64 `json:"ids"`
	Source string  `json:"source"`
	// AddSpecialTokens is false for ids without SOT/EOT (Encode's output).
	AddSpecialTokens *bool `json:"add_special_tokens"`
	// ContextLength, when set, means IDs is the whole padded row.
	ContextLength int   `json:"context_length"`
	PadID         int64 `json:"pad_id"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/tokenizer_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) != 40 {
		t.Fatalf("got %d vectors, want 40", len(vectors))
	}
	return vectors
}

// checkVectors runs every published vector against tok.
func checkVectors(t *testing.T, tok *Tokenizer) {
	t.Helper()
	for _, v := range loadVectors(t) {
		if v.AddSpecialTokens != nil && !*v.AddSpecialTokens {
			got := tok.Encode(v.Text)
			want := make([]int, len(v.IDs))
			for i, id := range v.IDs {
				want[i] = int(id)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Encode(%q)\n got %v\nwant %v\n(source %s)", v.Text, got, want, v.Source)
			}
			continue
		}
		context := v.ContextLength
		if context == 0 {
			context = DefaultContext
		}
		got, err := tok.Tokenize(v.Text, context)
		if err != nil {
			t.Fatalf("Tokenize(%q): %v", v.Text, err)
		}
		want := slices.Clone(v.IDs)
		for len(want) < context {
			want = append(want, v.PadID) // the sources list the unpadded part
		}
		if !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q, %d)\n got %v\nwant %v\n(source %s)", v.Text, context, got, want, v.Source)
		}
	}
}

func TestPublishedVectors(t *testing.T) {
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, tok)
	// A second round is served from the caches and must agree.
	checkVectors(t, tok)
}

func TestDefaultSpecialTokens(t *testing.T) {
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if tok.SOT() != 49406 || tok.EOT() != 49407 || tok.VocabSize() != 49408 {
		t.Fatalf("SOT %d, EOT %d, vocab %d; want 49406, 49407, 49408", tok.SOT(), tok.EOT(), tok.VocabSize())
	}
}
