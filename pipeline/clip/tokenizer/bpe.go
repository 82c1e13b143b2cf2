package tokenizer

// appendWordIDs byte-pair-encodes one pre-tokenised piece and appends its ids.
//
// It follows OpenAI's bpe(): start from one symbol per UTF-8 byte (the last
// one carrying "</w>"), then repeatedly take the adjacent pair with the lowest
// merge rank and merge every occurrence of it, left to right, until no
// adjacent pair has a rank.
func (v *vocabulary) appendWordIDs(dst []int32, word string) []int32 {
	var buf [48]int32 // most words fit; longer ones spill to the heap
	symbols := buf[:0]
	for i := 0; i < len(word); i++ {
		symbols = append(symbols, v.byteSymbol[word[i]])
	}
	symbols[len(symbols)-1] = v.byteEndSymbol[word[len(word)-1]]

	for len(symbols) > 1 {
		best := merge{rank: -1}
		var left, right int32
		for i := 0; i+1 < len(symbols); i++ {
			m, ok := v.ranks[pairKey(symbols[i], symbols[i+1])]
			if ok && (best.rank < 0 || m.rank < best.rank) {
				best, left, right = m, symbols[i], symbols[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		out := 0
		for i := 0; i < len(symbols); out++ {
			if i+1 < len(symbols) && symbols[i] == left && symbols[i+1] == right {
				symbols[out] = best.result
				i += 2
			} else {
				symbols[out] = symbols[i]
				i++
			}
		}
		symbols = symbols[:out]
	}
	return append(dst, symbols...)
}
