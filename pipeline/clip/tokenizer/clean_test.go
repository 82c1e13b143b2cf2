package tokenizer

import (
	"slices"
	"testing"
)

// Expected values below come from the documentation and doctests of ftfy 6
// and Python, and from Unicode's casing rules; none is this code's output.

func TestFTFYFixes(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ＬＯＵＤ　ＮＯＩＳＥＳ", "LOUD NOISES"},                                                             // ftfy fix_text doctest
		{"Ｕﾀｰﾝ", "Uターン"},                                                                           // fix_character_width doctest
		{"ﬂuﬃeﬆ", "fluffiest"},                                                                     // fix_latin_ligatures doctest
		{"\u201chere\u2019s a test\u201d", `"here's a test"`},                                      // uncurl_quotes doctest
		{"\x1b[36;44mI'm blue, da ba dee da ba doo...\x1b[0m", "I'm blue, da ba dee da ba doo..."}, // remove_terminal_escapes doctest
		{"\ufeffParty like\nit&rsquo;s 1999!", "Party like\nit's 1999!"},                           // fix_text doctest
		{"HTML entities &lt;3", "HTML entities <3"},                                                // fix_text doctest
		{"<em>HTML entities &lt;3</em>", "<em>HTML entities &lt;3</em>"},                           // fix_text doctest
		{"&amp;amp;", "&"}, // repeated until unchanged
		{"\u0091quoted\u0092 \u0080", "'quoted' €"}, // C1 controls read as Windows-1252
		{"e\u0301", "é"},               // NFC
		{"a\x00b\x7fc\u206ad", "abcd"}, // control characters removed
		{"&lt;b&gt;\n&lt;i&gt; <x>\n&lt;u&gt;", "<b>\n&lt;i&gt; <x>\n&lt;u&gt;"}, // entities off from the first '<' line on
		{"ŉ", "'n"}, // ligature table then uncurl_quotes
	}
	for _, c := range cases {
		if got := fixText(c.in); got != c.want {
			t.Errorf("fixText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFTFYEntities(t *testing.T) {
	// ftfy's unescape_html doctests.
	cases := []struct{ in, want string }{
		{"&lt;tag&gt;", "<tag>"},
		{"&Jscr;ohn &HilbertSpace;ancock", "𝒥ohn ℋancock"},
		{"&checkmark;", "✓"},
		{"P&eacute;rez", "Pérez"},
		{"P&EACUTE;REZ", "PÉREZ"},
		{"BUNDESSTRA&SZLIG;E", "BUNDESSTRASSE"},
		{"&ntilde; &Ntilde; &NTILDE; &nTILDE;", "ñ Ñ Ñ &nTILDE;"},
		{"&amp", "&amp"},       // ftfy needs the semicolon
		{"&#x41;&#66;", "AB"},  // numeric references
		{"&#65x;", "&#65x;"},   // Python would decode it only in part
		{"&ampx;", "&ampx;"},   // a legacy prefix is not a full name
		{"&semi;&copy;", ";©"}, // a value that is itself a semicolon
	}
	for _, c := range cases {
		if got := unescapeEntitiesFTFY(c.in); got != c.want {
			t.Errorf("unescapeEntitiesFTFY(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPythonHTMLUnescape(t *testing.T) {
	// Behaviour of Python's html.unescape (its test suite and source).
	cases := []struct{ in, want string }{
		{"&amp;&lt;&gt;&quot;&#39;", `&<>"'`},
		{"&amp", "&"},
		{"&ampx", "&x"},
		{"&notit;", "¬it;"},
		{"&notin;", "∉"},
		{"&#0;", "\uFFFD"},
		{"&#13;", "\r"},
		{"&#x80;", "€"},
		{"&#x81;", "\u0081"},
		{"&#1;", ""},
		{"&#xFDD0;", ""},
		{"&#x1FFFF;", ""},
		{"&#xD800;", "\uFFFD"},
		{"&#x110000;", "\uFFFD"},
		{"&#99999999999999999999;", "\uFFFD"},
		{"&#65", "A"},
		{"&#x41g", "Ag"},
		{"&#;", "&#;"},
		{"&#xZZ;", "&#xZZ;"},
		{"& amp;", "& amp;"},
		{"&nosuchentity;", "&nosuchentity;"},
	}
	for _, c := range cases {
		if got := unescapeHTML(c.in); got != c.want {
			t.Errorf("unescapeHTML(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPythonLowerAndWhitespace(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ΟΔΟΣ", "οδος"}, // final sigma
		{"ΣΑ", "σα"},     // not final
		{"Α.Σ.", "α.ς."}, // '.' is case-ignorable, nothing cased follows
		{"ΑΣ'Α", "ασ'α"}, // a cased letter follows the apostrophe
		{"Σ", "σ"},       // nothing cased before
		{"İ", "i\u0307"}, // U+0130 lowercases to two characters
		{"ǅ", "ǆ"},       // titlecase
		{"ABC def", "abc def"},
	}
	for _, c := range cases {
		if got := lowerPython(c.in); got != c.want {
			t.Errorf("lowerPython(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got, want := collapseWhitespace(" \t a\u00a0\u3000b\x1c\u0085c\u2028 "), "a b c"; got != want {
		t.Errorf("collapseWhitespace = %q, want %q", got, want)
	}
}

func TestCleanText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  A  Photo\tOF\n\na CAT  ", "a photo of a cat"},
		{"&amp;lt;3", "<3"},                    // ftfy decodes fully; html.unescape twice more is a no-op
		{"<b>&amp;amp;lt;</b>", "<b>&lt;</b>"}, // no ftfy entities; html.unescape twice
		{"ＡＢＣ", "abc"},
		{"\xff\xfe", "\ufffd"}, // broken UTF-8
	}
	for _, c := range cases {
		if got := cleanText(c.in); got != c.want {
			t.Errorf("cleanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitPieces(t *testing.T) {
	// Matches of the reference pattern, worked out from its alternation order.
	cases := []struct {
		in   string
		want []string
	}{
		{"a'sb", []string{"a", "'s", "b"}},
		{"''s", []string{"''", "s"}},
		{"don't", []string{"don", "'t"}},
		{"we'll've", []string{"we", "'ll", "'ve"}},
		{"'x", []string{"'", "x"}},
		{"'ſ", []string{"'ſ"}}, // IGNORECASE folds ſ to s
		{"12ab3", []string{"1", "2", "ab", "3"}},
		{"½²", []string{"½", "²"}},
		{"!<|endoftext|>", []string{"!<|", "endoftext", "|>"}},
		{"<|startoftext|>x<|endoftext|>", []string{"<|startoftext|>", "x", "<|endoftext|>"}},
		{"<|ſtartoftext|>", []string{"<|ſtartoftext|>"}},
		{"a\u0345b", []string{"a", "b"}},
		{"e\u0301!?", []string{"e", "\u0301!?"}},
		{"...  ,", []string{"...", ","}},
		{"生活", []string{"生活"}},
	}
	for _, c := range cases {
		var got []string
		splitPieces(c.in, func(p string) { got = append(got, p) })
		if !slices.Equal(got, c.want) {
			t.Errorf("splitPieces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
