package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanText prepares text as OpenAI's tokenizer does before splitting it:
// whitespace_clean(basic_clean(text)).lower(), where basic_clean is
// ftfy.fix_text followed by html.unescape twice.
func cleanText(text string) string {
	if !utf8.ValidString(text) {
		// Python receives text, never bytes; treat broken UTF-8 as U+FFFD.
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	if mayNeedFixing(text) {
		text = fixText(text)
	}
	if strings.IndexByte(text, '&') >= 0 {
		text = unescapeHTML(unescapeHTML(text))
	}
	return lowerPython(collapseWhitespace(text))
}

// mayNeedFixing reports whether the ftfy step could change text. Plain
// printable ASCII without '&' is the common prompt and is left untouched.
func mayNeedFixing(text string) bool {
	for i := 0; i < len(text); i++ {
		switch b := text[i]; {
		case b >= 0x7F, b == '&':
			return true
		case b < 0x20 && b != '\t' && b != '\n' && b != '\f' && b != '\r':
			return true
		}
	}
	return false
}

// isPythonSpace is Python's str.isspace, which both str.strip and the \s of
// re use: Go's unicode.IsSpace plus the information separators U+001C-U+001F.
func isPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1C && r <= 0x1F)
}

// collapseWhitespace is Python's re.sub(r'\s+', ' ', text.strip()).strip().
func collapseWhitespace(text string) string {
	if isCollapsedASCII(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	pendingSpace := false
	for _, r := range text {
		if isPythonSpace(r) {
			pendingSpace = b.Len() > 0
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isCollapsedASCII reports whether text is ASCII whose only whitespace is
// single spaces between words, which collapsing leaves as it is.
func isCollapsedASCII(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= utf8.RuneSelf:
			return false
		case c == ' ':
			if i == 0 || i == len(text)-1 || text[i+1] == ' ' {
				return false
			}
		case c <= ' ' && isPythonSpace(rune(c)):
			return false
		}
	}
	return true
}

// lowerPython is Python's str.lower: Unicode simple lowercase mapping plus
// the two rules Python adds, U+0130 to "i̇" and the final-sigma rule.
func lowerPython(text string) string {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(text)
	}
	var b strings.Builder
	b.Grow(len(text))
	for i, r := range text {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if isFinalSigma(text, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// isFinalSigma applies Unicode's Final_Sigma condition to the capital sigma
// at byte offset at: a cased letter before it and none after it, skipping
// case-ignorable characters on both sides.
func isFinalSigma(text string, at int) bool {
	before := text[:at]
	casedBefore := false
	for len(before) > 0 {
		r, size := utf8.DecodeLastRuneInString(before)
		before = before[:len(before)-size]
		if !isCaseIgnorable(r) {
			casedBefore = isCased(r)
			break
		}
	}
	if !casedBefore {
		return false
	}
	for _, r := range text[at+len("Σ"):] {
		if !isCaseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// isCaseIgnorable is Unicode's Case_Ignorable: marks, format characters,
// modifier letters and symbols, and the word-break MidLetter, MidNumLet and
// Single_Quote characters.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00B7', '\u0387', '\u055F', '\u05F4', '\u2018', '\u2019',
		'\u2024', '\u2027', '\uFE13', '\uFE52', '\uFE55', '\uFF07', '\uFF0E', '\uFF1A':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
