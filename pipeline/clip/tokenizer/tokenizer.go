package tokenizer

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultContext is CLIP's text context length: SOT, up to 75 BPE ids, EOT.
const DefaultContext = 77

// Tokenizer turns prompts into CLIP token ids. It is safe for concurrent use.
type Tokenizer struct {
	vocab   *vocabulary
	words   *wordCache
	prompts *promptCache
}

func newTokenizer(v *vocabulary) *Tokenizer {
	return &Tokenizer{vocab: v, words: newWordCache(), prompts: newPromptCache(promptCacheLimit)}
}

// SOT is the id of <|startoftext|> (49406 in the OpenAI vocabulary).
func (t *Tokenizer) SOT() int { return int(t.vocab.sot) }

// EOT is the id of <|endoftext|> (49407 in the OpenAI vocabulary).
func (t *Tokenizer) EOT() int { return int(t.vocab.eot) }

// VocabSize is one more than the largest token id.
func (t *Tokenizer) VocabSize() int { return len(t.vocab.tokens) }

// Encode returns the BPE ids of text, without SOT and EOT, as OpenAI's
// SimpleTokenizer.encode does. Special-token strings written in the text
// become their ids.
func (t *Tokenizer) Encode(text string) []int {
	ids := t.encodeCached(text)
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// Tokenize returns SOT, the ids of text, EOT, zero padded to context ids
// (DefaultContext when context is 0). Text too long for the context is cut
// so that EOT stays last, as clip.tokenize(truncate=True) does.
func (t *Tokenizer) Tokenize(text string, context int) ([]int64, error) {
	if context == 0 {
		context = DefaultContext
	}
	if context < 2 {
		return nil, fmt.Errorf("tokenize: context %d has no room for SOT and EOT", context)
	}
	dst := make([]int64, context)
	if _, err := t.TokenizeInto(dst, text); err != nil {
		return nil, err
	}
	return dst, nil
}

// TokenizeInto writes SOT, the ids of text, EOT and zero padding into dst,
// whose length is the context. It returns how many ids are tokens rather
// than padding (what an attention mask covers). A prompt seen recently
// costs one cache look-up and no allocation.
func (t *Tokenizer) TokenizeInto(dst []int64, text string) (int, error) {
	if len(dst) < 2 {
		return 0, fmt.Errorf("tokenize: context %d has no room for SOT and EOT", len(dst))
	}
	ids := t.encodeCached(text)
	n := min(len(ids), len(dst)-2)
	dst[0] = int64(t.vocab.sot)
	for i, id := range ids[:n] {
		dst[1+i] = int64(id)
	}
	dst[n+1] = int64(t.vocab.eot)
	clear(dst[n+2:])
	return n + 2, nil
}

// TokenizeBatch tokenises texts into one row-major [len(texts), context]
// block, the layout of a text model's input_ids.
func (t *Tokenizer) TokenizeBatch(texts []string, context int) ([]int64, error) {
	if context == 0 {
		context = DefaultContext
	}
	if context < 2 {
		return nil, fmt.Errorf("tokenize: context %d has no room for SOT and EOT", context)
	}
	out := make([]int64, len(texts)*context)
	for i, text := range texts {
		if _, err := t.TokenizeInto(out[i*context:(i+1)*context], text); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Decode turns ids back into text the way OpenAI's decode does: tokens
// joined, bytes restored, and each "</w>" read as a space.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	var symbols strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(t.vocab.tokens) || t.vocab.tokens[id] == "" {
			return "", fmt.Errorf("decode: id %d is not in the vocabulary", id)
		}
		symbols.WriteString(t.vocab.tokens[id])
	}
	raw := make([]byte, 0, symbols.Len())
	for _, r := range symbols.String() {
		b, ok := unicodeToByte[r]
		if !ok {
			return "", errors.New("decode: vocabulary token holds a symbol outside the byte table")
		}
		raw = append(raw, b)
	}
	text := strings.ToValidUTF8(string(raw), "\uFFFD")
	return strings.ReplaceAll(text, endOfWord, " "), nil
}

// encodeCached returns the BPE ids of text from the prompt cache, or encodes
// and caches them. The slice is shared and must not be modified.
func (t *Tokenizer) encodeCached(text string) []int32 {
	if ids, ok := t.prompts.get(text); ok {
		return ids
	}
	ids := t.encode(text)
	t.prompts.put(text, ids)
	return ids
}

// encode cleans, splits and byte-pair-encodes text.
func (t *Tokenizer) encode(text string) []int32 {
	ids := make([]int32, 0, len(text)/3+1)
	splitPieces(cleanText(text), func(piece string) {
		switch piece {
		case startToken:
			ids = append(ids, t.vocab.sot)
			return
		case endToken:
			ids = append(ids, t.vocab.eot)
			return
		}
		if cached, ok := t.words.get(piece); ok {
			ids = append(ids, cached...)
			return
		}
		before := len(ids)
		ids = t.vocab.appendWordIDs(ids, piece)
		t.words.put(piece, append([]int32(nil), ids[before:]...))
	})
	return ids
}
