package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// contractions are the suffixes the reference pattern splits off after an
// apostrophe, in pattern order.
var contractions = []string{"s", "t", "re", "ve", "m", "ll", "d"}

// splitPieces calls emit with each piece the reference pattern finds in
// cleaned text, in order:
//
//	<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// The alternatives are tried in that order at each position, as a regex
// engine does, and characters no alternative matches (whitespace) are
// skipped. A run of "other" characters is greedy and is not cut short by an
// apostrophe or a special token inside it, exactly like the regex.
func splitPieces(text string, emit func(piece string)) {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if skippedByPattern(r) {
			i += size
			continue
		}
		if r == '<' {
			if n := matchFold(text[i:], startToken); n > 0 {
				emit(text[i : i+n])
				i += n
				continue
			}
			if n := matchFold(text[i:], endToken); n > 0 {
				emit(text[i : i+n])
				i += n
				continue
			}
		}
		if r == '\'' {
			if n := matchContraction(text[i+size:]); n > 0 {
				emit(text[i : i+size+n])
				i += size + n
				continue
			}
		}
		end := i + size
		switch {
		case unicode.IsLetter(r):
			for end < len(text) {
				next, n := utf8.DecodeRuneInString(text[end:])
				if !unicode.IsLetter(next) {
					break
				}
				end += n
			}
		case unicode.IsNumber(r):
			// One digit per piece: [\p{N}] has no '+'.
		default:
			for end < len(text) {
				next, n := utf8.DecodeRuneInString(text[end:])
				if skippedByPattern(next) || unicode.IsLetter(next) || unicode.IsNumber(next) {
					break
				}
				end += n
			}
		}
		emit(text[i:end])
		i = end
	}
}

// skippedByPattern reports whether no alternative of the pattern matches r:
// whitespace, and U+0345 COMBINING GREEK YPOGEGRAMMENI, which the
// case-insensitive negated class rejects because it folds to the letter ι
// while [\p{L}] itself does not accept it.
func skippedByPattern(r rune) bool {
	return unicode.IsSpace(r) || r == '\u0345'
}

// matchContraction returns the byte length of the contraction suffix that
// text starts with, or 0.
func matchContraction(text string) int {
	for _, c := range contractions {
		if n := matchFold(text, c); n > 0 {
			return n
		}
	}
	return 0
}

// matchFold reports how many bytes of text match the ASCII pattern under
// simple case folding (the pattern is compiled with IGNORECASE, so 'ſ'
// matches 's' even after lowercasing), or 0 when text does not start with it.
func matchFold(text, pattern string) int {
	n := 0
	for j := 0; j < len(pattern); j++ {
		if n >= len(text) {
			return 0
		}
		r, size := utf8.DecodeRuneInString(text[n:])
		if !foldsTo(r, rune(pattern[j])) {
			return 0
		}
		n += size
	}
	return n
}

// foldsTo reports whether r equals want or is in its simple case-folding orbit.
func foldsTo(r, want rune) bool {
	if r == want {
		return true
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == want {
			return true
		}
	}
	return false
}
