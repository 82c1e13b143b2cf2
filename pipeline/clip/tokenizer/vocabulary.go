package tokenizer

import "fmt"

const (
	// endOfWord is appended to the last symbol of every word; the vocabulary
	// holds each byte symbol with and without it.
	endOfWord = "</w>"
	// startToken and endToken are the special tokens framing every prompt.
	startToken = "<|startoftext|>"
	endToken   = "<|endoftext|>"
	// openAIMergeCount is how many merges of bpe_simple_vocab_16e6.txt.gz
	// CLIP uses (49152-256-2 in OpenAI's code), giving 49408 tokens.
	openAIMergeCount = 49152 - 256 - 2
)

// byteOrder lists the 256 byte values in the order OpenAI's bytes_to_unicode
// yields them: printable Latin-1 first, then the rest. It fixes the first 512
// ids of the OpenAI vocabulary.
func byteOrder() []byte {
	order := make([]byte, 0, 256)
	printable := func(lo, hi int) {
		for b := lo; b <= hi; b++ {
			order = append(order, byte(b))
		}
	}
	printable('!', '~')
	printable(0xA1, 0xAC)
	printable(0xAE, 0xFF)
	var seen [256]bool
	for _, b := range order {
		seen[b] = true
	}
	for b := 0; b < 256; b++ {
		if !seen[b] {
			order = append(order, byte(b))
		}
	}
	return order
}

// byteToUnicode is OpenAI's reversible byte -> rune table: printable bytes
// stand for themselves, the others are shifted to runes from U+0100 on so
// that no BPE symbol is whitespace or a control character.
var byteToUnicode = func() [256]rune {
	var table [256]rune
	next := rune(256)
	for i, b := range byteOrder() {
		if i < 188 { // the printable ranges: 94 + 12 + 82 bytes
			table[b] = rune(b)
		} else {
			table[b] = next
			next++
		}
	}
	return table
}()

// unicodeToByte inverts byteToUnicode, for decoding.
var unicodeToByte = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, r := range byteToUnicode {
		m[r] = byte(b)
	}
	return m
}()

// merge is what a ranked pair of symbols becomes.
type merge struct {
	rank   int32
	result int32
}

// symbolPair is one line of the merges list, as ids.
type symbolPair struct {
	left, right int32
}

// vocabulary is the immutable part of a tokenizer, shared by every
// Tokenizer built from the same files.
type vocabulary struct {
	tokens []string         // id -> token ("" for ids the files leave unused)
	ids    map[string]int32 // token -> id
	pairs  []symbolPair     // the merges in file order, for writing back
	ranks  map[uint64]merge // pairKey(left, right) -> merge

	// byteSymbol and byteEndSymbol are the ids of each byte's symbol inside
	// a word and at its end (with "</w>").
	byteSymbol    [256]int32
	byteEndSymbol [256]int32

	sot, eot int32
}

func pairKey(left, right int32) uint64 {
	return uint64(uint32(left))<<32 | uint64(uint32(right))
}

// newVocabulary checks a token table and a merge list against each other and
// indexes them. merges are in rank order; describe names the entry of merge i
// in error messages (a file and line, or a JSON index).
func newVocabulary(ids map[string]int32, merges [][2]string, describe func(i int) string) (*vocabulary, error) {
	v := &vocabulary{ids: ids, ranks: make(map[uint64]merge, len(merges))}

	maxID := int32(-1)
	for tok, id := range ids {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	v.tokens = make([]string, maxID+1)
	for tok, id := range ids {
		if prev := v.tokens[id]; prev != "" {
			return nil, fmt.Errorf("tokens %q and %q share id %d", prev, tok, id)
		}
		v.tokens[id] = tok
	}

	lookup := func(tok string) (int32, bool) {
		id, ok := ids[tok]
		return id, ok
	}
	for b := 0; b < 256; b++ {
		sym := string(byteToUnicode[b])
		var ok bool
		if v.byteSymbol[b], ok = lookup(sym); !ok {
			return nil, fmt.Errorf("vocabulary lacks the symbol %q for byte 0x%02x", sym, b)
		}
		if v.byteEndSymbol[b], ok = lookup(sym + endOfWord); !ok {
			return nil, fmt.Errorf("vocabulary lacks the symbol %q for byte 0x%02x", sym+endOfWord, b)
		}
	}

	v.pairs = make([]symbolPair, len(merges))
	for i, m := range merges {
		left, okL := lookup(m[0])
		right, okR := lookup(m[1])
		result, okM := lookup(m[0] + m[1])
		switch {
		case !okL:
			return nil, fmt.Errorf("%s: merge symbol %q is not in the vocabulary", describe(i), m[0])
		case !okR:
			return nil, fmt.Errorf("%s: merge symbol %q is not in the vocabulary", describe(i), m[1])
		case !okM:
			return nil, fmt.Errorf("%s: merged token %q is not in the vocabulary", describe(i), m[0]+m[1])
		}
		v.pairs[i] = symbolPair{left, right}
		// A repeated pair takes its later rank, as Python's dict(zip(...)) does.
		v.ranks[pairKey(left, right)] = merge{rank: int32(i), result: result}
	}

	var ok bool
	if v.sot, ok = lookup(startToken); !ok {
		return nil, fmt.Errorf("vocabulary lacks %s", startToken)
	}
	if v.eot, ok = lookup(endToken); !ok {
		return nil, fmt.Errorf("vocabulary lacks %s", endToken)
	}
	return v, nil
}

// openAIVocabulary builds the vocabulary the way OpenAI's SimpleTokenizer
// does from its merges: the 256 byte symbols, the same with "</w>", one
// token per merge, then the two special tokens.
func openAIVocabulary(merges [][2]string, describe func(i int) string) (*vocabulary, error) {
	tokens := make([]string, 0, 512+len(merges)+2)
	for _, b := range byteOrder() {
		tokens = append(tokens, string(byteToUnicode[b]))
	}
	for i := range 256 {
		tokens = append(tokens, tokens[i]+endOfWord)
	}
	for _, m := range merges {
		tokens = append(tokens, m[0]+m[1])
	}
	tokens = append(tokens, startToken, endToken)

	ids := make(map[string]int32, len(tokens))
	for id, tok := range tokens {
		if first, dup := ids[tok]; dup {
			// OpenAI's dict would silently keep the later id and strand the
			// earlier one; such a file is not the CLIP vocabulary.
			where := "special token"
			if merge := id - 512; merge < len(merges) {
				where = describe(merge)
			}
			return nil, fmt.Errorf("%s: token %q appears twice (ids %d and %d)", where, tok, first, id)
		}
		ids[tok] = int32(id)
	}
	return newVocabulary(ids, merges, describe)
}
