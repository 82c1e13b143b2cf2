package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func defaultTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTruncationKeepsEOTLast(t *testing.T) {
	tok := defaultTokenizer(t)
	long := strings.Repeat("a photo of a dented steel bracket ", 40)
	ids := tok.Encode(long)
	if len(ids) <= DefaultContext {
		t.Fatalf("test prompt encodes to only %d ids", len(ids))
	}
	row, err := tok.Tokenize(long, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(row) != DefaultContext {
		t.Fatalf("row has %d ids, want %d", len(row), DefaultContext)
	}
	if row[0] != int64(tok.SOT()) || row[DefaultContext-1] != int64(tok.EOT()) {
		t.Fatalf("row starts %d and ends %d, want SOT %d and EOT %d", row[0], row[DefaultContext-1], tok.SOT(), tok.EOT())
	}
	for i, id := range ids[:DefaultContext-2] {
		if row[1+i] != int64(id) {
			t.Fatalf("row[%d] = %d, want the prompt's id %d", 1+i, row[1+i], id)
		}
	}
}

func TestPaddingIsZeros(t *testing.T) {
	tok := defaultTokenizer(t)
	dst := make([]int64, DefaultContext)
	for i := range dst {
		dst[i] = -1 // stale contents must be overwritten
	}
	n, err := tok.TokenizeInto(dst, "a scratch")
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("a scratch")
	if n != len(ids)+2 {
		t.Fatalf("TokenizeInto counted %d tokens, want %d", n, len(ids)+2)
	}
	if dst[n-1] != int64(tok.EOT()) {
		t.Fatalf("dst[%d] = %d, want EOT", n-1, dst[n-1])
	}
	for i, id := range dst[n:] {
		if id != 0 {
			t.Fatalf("padding dst[%d] = %d, want 0", n+i, id)
		}
	}
}

func TestContextTooSmall(t *testing.T) {
	tok := defaultTokenizer(t)
	if _, err := tok.Tokenize("x", 1); err == nil {
		t.Error("Tokenize with context 1 succeeded")
	}
	if _, err := tok.TokenizeInto(nil, "x"); err == nil {
		t.Error("TokenizeInto with an empty row succeeded")
	}
	row, err := tok.Tokenize("anything at all", 2)
	if err != nil || !slices.Equal(row, []int64{int64(tok.SOT()), int64(tok.EOT())}) {
		t.Errorf("Tokenize(context 2) = %v, %v; want [SOT EOT]", row, err)
	}
}

func TestTokenizeBatchRowsMatchTokenize(t *testing.T) {
	tok := defaultTokenizer(t)
	prompts := []string{"a good weld", "a porous weld with spatter", ""}
	batch, err := tok.TokenizeBatch(prompts, 16)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prompts {
		row, err := tok.Tokenize(p, 16)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(batch[i*16:(i+1)*16], row) {
			t.Errorf("batch row %d = %v, want %v", i, batch[i*16:(i+1)*16], row)
		}
	}
}

func TestDecodeRestoresCleanedText(t *testing.T) {
	tok := defaultTokenizer(t)
	for _, text := range []string{"a photo of a cat", "café crème, 42 µm", "まあ、お待ちなさい。"} {
		got, err := tok.Decode(tok.Encode(text))
		if err != nil {
			t.Fatal(err)
		}
		// Decoding marks every word end with a space, as OpenAI's decode does.
		if strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(text, " ", "") {
			t.Errorf("Decode(Encode(%q)) = %q", text, got)
		}
	}
	if _, err := tok.Decode([]int{tok.VocabSize()}); err == nil {
		t.Error("Decode of an id past the vocabulary succeeded")
	}
}

func TestConcurrentUseAgreesWithSequential(t *testing.T) {
	sequential := defaultTokenizer(t)
	prompts := make([]string, 300)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("a photo of part %d with a %s defect", i%37, []string{"scratch", "dent", "burr"}[i%3])
	}
	want := make([][]int, len(prompts))
	for i, p := range prompts {
		want[i] = sequential.Encode(p)
	}

	shared := defaultTokenizer(t)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := make([]int64, DefaultContext)
			for i := range prompts {
				i := (i + w*41) % len(prompts)
				got := shared.Encode(prompts[i])
				if !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("Encode(%q) = %v, want %v", prompts[i], got, want[i])
					return
				}
				if _, err := shared.TokenizeInto(row, prompts[i]); err != nil {
					errs <- err.Error()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestWarmTokenizeIntoDoesNotAllocate(t *testing.T) {
	tok := defaultTokenizer(t)
	row := make([]int64, DefaultContext)
	const prompt = "a photo of a misaligned connector"
	if _, err := tok.TokenizeInto(row, prompt); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := tok.TokenizeInto(row, prompt); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("warm TokenizeInto allocates %v times per call", allocs)
	}
}

func TestPromptCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newPromptCache(2)
	c.put("a", []int32{1})
	c.put("b", []int32{2})
	if _, ok := c.get("a"); !ok { // "a" becomes the most recent
		t.Fatal("a missing")
	}
	c.put("c", []int32{3}) // evicts "b"
	if _, ok := c.get("b"); ok {
		t.Error("b survived although it was least recently used")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	if c.len() != 2 {
		t.Errorf("cache holds %d prompts, limit 2", c.len())
	}
	c.put(strings.Repeat("x", maxCachedPromptBytes+1), []int32{4})
	if c.len() != 2 {
		t.Error("an oversized prompt was cached")
	}
}
