package tokenizer

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxFixPasses bounds ftfy's repeat-until-unchanged loop; real text settles
// in two or three passes, and the bound only guards against a pathological
// input cycling forever.
const maxFixPasses = 32

// fixText reproduces the parts of ftfy.fix_text (ftfy 6) that affect typed
// prompts. Like ftfy it works line by line and stops decoding HTML entities
// from the first line holding a '<' onwards, since that text may be HTML.
func fixText(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	unescape := true
	for len(text) > 0 {
		end := strings.IndexByte(text, '\n') + 1
		if end == 0 {
			end = len(text)
		}
		line := text[:end]
		text = text[end:]
		if unescape && strings.IndexByte(line, '<') >= 0 {
			unescape = false
		}
		b.WriteString(fixLine(line, unescape))
	}
	return b.String()
}

// fixLine applies ftfy's fixers in ftfy's order until the line stops
// changing. ftfy's fix_line_breaks is left out: it only turns whitespace into
// other whitespace, which the whitespace collapse erases anyway.
func fixLine(line string, unescape bool) string {
	for range maxFixPasses {
		before := line
		if unescape {
			line = unescapeEntitiesFTFY(line)
		}
		line = translateRunes(line)
		line = removeTerminalEscapes(line)
		line = removeControlChars(line)
		line = norm.NFC.String(line)
		if line == before {
			break
		}
	}
	return line
}

// translateRunes applies ftfy's per-character fixers in ftfy's order:
// fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes.
func translateRunes(text string) string {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return text // every one of these fixers maps non-ASCII characters only
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		if r >= 0x80 && r <= 0x9F {
			r = windows1252High[r-0x80]
		}
		if split, ok := latinLigatures[r]; ok {
			for _, s := range split {
				writeStandardWidth(&b, s)
			}
			continue
		}
		writeStandardWidth(&b, r)
	}
	return b.String()
}

func writeStandardWidth(b *strings.Builder, r rune) {
	if standard, ok := widthMap()[r]; ok {
		for _, s := range standard {
			b.WriteRune(uncurlQuote(s))
		}
		return
	}
	b.WriteRune(uncurlQuote(r))
}

// uncurlQuote is ftfy's uncurl_quotes for one character.
func uncurlQuote(r rune) rune {
	switch {
	case r == '\u02BC' || (r >= '\u2018' && r <= '\u201B'):
		return '\''
	case r >= '\u201C' && r <= '\u201F':
		return '"'
	}
	return r
}

// windows1252High maps U+0080-U+009F as ftfy's sloppy Windows-1252 (and
// Python's html module) do: the five bytes Windows-1252 leaves undefined
// stay as they are.
var windows1252High = [32]rune{
	'€', '\u0081', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u008D', 'Ž', '\u008F',
	'\u0090', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u009D', 'ž', 'Ÿ',
}

// latinLigatures is ftfy's LIGATURES table.
var latinLigatures = map[rune]string{
	'Ĳ': "IJ", 'ĳ': "ij", 'ŉ': "ʼn",
	'Ǳ': "DZ", 'ǲ': "Dz", 'ǳ': "dz", 'Ǆ': "DŽ", 'ǅ': "Dž", 'ǆ': "dž",
	'Ǉ': "LJ", 'ǈ': "Lj", 'ǉ': "lj", 'Ǌ': "NJ", 'ǋ': "Nj", 'ǌ': "nj",
	'ﬀ': "ff", 'ﬁ': "fi", 'ﬂ': "fl", 'ﬃ': "ffi", 'ﬄ': "ffl", 'ﬅ': "ſt", 'ﬆ': "st",
}

// widthMap is ftfy's WIDTH_MAP: the ideographic space becomes a space and
// every character of U+FF01-U+FFEF whose NFKC form differs becomes that form
// (full-width ASCII to ASCII, half-width katakana and Hangul to full width).
var widthMap = sync.OnceValue(func() map[rune]string {
	m := map[rune]string{'\u3000': " "}
	for r := rune(0xFF01); r < 0xFFF0; r++ {
		if alt := norm.NFKC.String(string(r)); alt != string(r) {
			m[r] = alt
		}
	}
	return m
})

// removeTerminalEscapes is ftfy's remove_terminal_escapes: it deletes
// "\x1b[" + (digit | ';')* + ASCII letter, where a digit is any Unicode
// decimal digit as Python's \d allows.
func removeTerminalEscapes(text string) string {
	if strings.IndexByte(text, 0x1B) < 0 {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "\x1b[")
		if i < 0 {
			break
		}
		end := i + 2
		for end < len(text) {
			r, size := utf8.DecodeRuneInString(text[end:])
			if r != ';' && !unicode.IsDigit(r) {
				break
			}
			end += size
		}
		if end < len(text) && isASCIILetter(text[end]) {
			b.WriteString(text[:i])
			text = text[end+1:]
			continue
		}
		b.WriteString(text[:i+1])
		text = text[i+1:]
	}
	b.WriteString(text)
	return b.String()
}

func isASCIILetter(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// removeControlChars is ftfy's remove_control_chars: ASCII controls other
// than whitespace, deprecated Arabic format controls, the byte order mark
// and interlinear annotation characters go.
func removeControlChars(text string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r <= 0x08, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F,
			r >= 0x206A && r <= 0x206F, r == 0xFEFF, r >= 0xFFF9 && r <= 0xFFFC:
			return -1
		}
		return r
	}, text)
}
