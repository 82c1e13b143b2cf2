package tokenizer

import (
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Named references are resolved by the standard library, whose HTML5 table
// and longest-prefix rule for legacy names match Python's html module.
// Numeric references are resolved here because Python drops some code points
// that Go keeps.

// unescapeHTML is Python's html.unescape.
func unescapeHTML(text string) string {
	if strings.IndexByte(text, '&') < 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for {
		i := strings.IndexByte(text, '&')
		if i < 0 {
			break
		}
		b.WriteString(text[:i])
		text = text[i:]
		replacement, n := characterReference(text)
		if n == 0 {
			b.WriteByte('&')
			text = text[1:]
			continue
		}
		b.WriteString(replacement)
		text = text[n:]
	}
	b.WriteString(text)
	return b.String()
}

// characterReference decodes the reference text starts with ('&' included)
// the way Python's html.unescape does, returning the replacement and the
// bytes consumed, or n == 0 when Python's pattern does not match here.
func characterReference(text string) (replacement string, n int) {
	if strings.HasPrefix(text, "&#") {
		return numericReference(text)
	}
	// Python's pattern: [^\t\n\f <&#;]{1,32};? after the '&'.
	end, chars := 1, 0
	for end < len(text) && chars < 32 {
		r, size := utf8.DecodeRuneInString(text[end:])
		if strings.ContainsRune("\t\n\f <&#;", r) {
			break
		}
		end += size
		chars++
	}
	if chars == 0 {
		return "", 0
	}
	if end < len(text) && text[end] == ';' {
		end++
	}
	return html.UnescapeString(text[:end]), end
}

// numericReference decodes "&#123;" or "&#x7b;" (semicolon optional) with
// Python's rules: Windows-1252 for 0x80-0x9F, U+FFFD for NUL, surrogates and
// out-of-range values, nothing for control and non-character code points.
func numericReference(text string) (string, int) {
	start, base := 2, 10
	if len(text) > 2 && (text[2] == 'x' || text[2] == 'X') {
		start, base = 3, 16
	}
	end := start
	for end < len(text) && isDigitInBase(text[end], base) {
		end++
	}
	if end == start {
		return "", 0
	}
	digits := text[start:end]
	if end < len(text) && text[end] == ';' {
		end++
	}
	num, err := strconv.ParseUint(digits, base, 32)
	if err != nil || num > utf8.MaxRune {
		return "\uFFFD", end // too large for any code point
	}
	return pythonCharRef(rune(num)), end
}

func isDigitInBase(c byte, base int) bool {
	if c >= '0' && c <= '9' {
		return true
	}
	if base == 16 {
		return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
	}
	return false
}

// pythonCharRef is the character Python's html module gives code point r.
func pythonCharRef(r rune) string {
	switch {
	case r == 0:
		return "\uFFFD"
	case r == '\r':
		return "\r"
	case r >= 0x80 && r <= 0x9F:
		return string(windows1252High[r-0x80])
	case r >= 0xD800 && r <= 0xDFFF:
		return "\uFFFD"
	case r <= 0x08, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F,
		r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return ""
	}
	return string(r)
}

// unescapeEntitiesFTFY is ftfy's unescape_html: only complete references of
// the form &#?[0-9A-Za-z]{1,24}; are decoded, all-caps spellings of
// lowercase entity names are accepted (&EACUTE; is É), and a numeric
// reference that Python would decode only in part is left alone.
func unescapeEntitiesFTFY(text string) string {
	if strings.IndexByte(text, '&') < 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for {
		i := strings.IndexByte(text, '&')
		if i < 0 {
			break
		}
		b.WriteString(text[:i])
		text = text[i:]
		n := ftfyEntityLength(text)
		if n == 0 {
			b.WriteByte('&')
			text = text[1:]
			continue
		}
		b.WriteString(decodeFTFYEntity(text[:n]))
		text = text[n:]
	}
	b.WriteString(text)
	return b.String()
}

// ftfyEntityLength returns the length of the match of &#?[0-9A-Za-z]{1,24};
// at the start of text, or 0.
func ftfyEntityLength(text string) int {
	start := 1
	if len(text) > 1 && text[1] == '#' {
		start = 2
	}
	end := start
	for end < len(text) && end-start < 24 && isASCIIAlnum(text[end]) {
		end++
	}
	if end == start || end >= len(text) || text[end] != ';' {
		return 0
	}
	return end + 1
}

func isASCIIAlnum(c byte) bool {
	return isASCIILetter(c) || (c >= '0' && c <= '9')
}

// decodeFTFYEntity resolves one reference matched by ftfyEntityLength, or
// returns it unchanged.
func decodeFTFYEntity(entity string) string {
	if strings.HasPrefix(entity, "&#") {
		decoded := unescapeHTML(entity)
		if strings.Contains(decoded, ";") {
			return entity
		}
		return decoded
	}
	if decoded, ok := fullEntity(entity); ok {
		return decoded
	}
	// ftfy also knows "&NAME;" for each all-lowercase entity "&name;" whose
	// capitalised spelling means nothing to Python's html.unescape.
	lower := strings.ToLower(entity)
	if lower == entity || strings.ToUpper(lower) != entity || html.UnescapeString(entity) != entity {
		return entity
	}
	if decoded, ok := fullEntity(lower); ok {
		return upperPython(decoded)
	}
	return entity
}

// fullEntity decodes "&name;" when name; is an HTML5 entity name in full
// (not merely a legacy prefix of it).
func fullEntity(entity string) (string, bool) {
	decoded := html.UnescapeString(entity)
	if decoded == entity {
		return "", false
	}
	// A prefix match leaves the rest of the name and its ';' behind.
	if strings.HasSuffix(decoded, ";") && decoded != ";" {
		return "", false
	}
	return decoded, true
}

// upperPython is Python's str.upper for entity values: Go's simple mapping
// plus the multi-letter capitals of SpecialCasing that HTML entities reach.
func upperPython(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case 'ß':
			b.WriteString("SS")
		case 'ŉ':
			b.WriteString("ʼN")
		case 'ﬀ':
			b.WriteString("FF")
		case 'ﬁ':
			b.WriteString("FI")
		case 'ﬂ':
			b.WriteString("FL")
		case 'ﬃ':
			b.WriteString("FFI")
		case 'ﬄ':
			b.WriteString("FFL")
		default:
			b.WriteString(strings.ToUpper(string(r)))
		}
	}
	return b.String()
}
