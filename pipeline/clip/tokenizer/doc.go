// Package tokenizer is OpenAI CLIP's byte-level BPE tokenizer, reproduced
// exactly: the same text cleaning, the same pre-tokenisation, the same merges
// and therefore the same ids as OpenAI's simple_tokenizer.py.
//
// The text model only understands ids produced the way it was trained, so the
// cleaning follows the reference step by step:
//
//  1. ftfy.fix_text's fixes that matter for typed prompts: HTML entities
//     (unless the line holds a '<'), C1 controls read as Windows-1252, Latin
//     ligatures split, full-width and half-width forms to standard width,
//     curly quotes to straight ones, terminal escapes and control characters
//     removed, NFC; repeated until nothing changes, line by line, like ftfy.
//     ftfy's mojibake repair (fix_encoding) is not reproduced.
//  2. html.unescape twice, with Python's rules for numeric references.
//  3. Whitespace runs (Python's str.isspace) collapsed to one space, ends
//     stripped, then Python's str.lower (final sigma and U+0130 included).
//
// Pre-tokenisation is a hand-written scanner equivalent to the reference
// pattern
//
//	<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// compiled case-insensitively. Each piece is UTF-8 encoded, its bytes mapped
// through OpenAI's byte-to-unicode table, "</w>" appended to its last symbol,
// and merged by rank.
//
// The default vocabulary (bpe_simple_vocab_16e6.txt.gz, MIT licence, see
// vocab/LICENSE) is embedded; Hugging Face vocab.json + merges.txt and
// tokenizer.json load too, and WriteFiles writes the Hugging Face layout.
package tokenizer
