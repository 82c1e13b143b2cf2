package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// File names FromDir looks for, in order of preference.
const (
	TokenizerJSONFile = "tokenizer.json"
	VocabJSONFile     = "vocab.json"
	MergesFile        = "merges.txt"
	OpenAIVocabFile   = "bpe_simple_vocab_16e6.txt.gz"
)

//go:embed vocab/bpe_simple_vocab_16e6.txt.gz
var embeddedOpenAIVocab []byte

// defaultVocabulary parses the embedded vocabulary once; every Default
// tokenizer shares it and gets caches of its own.
var defaultVocabulary = sync.OnceValues(func() (*vocabulary, error) {
	return parseOpenAIVocab(bytes.NewReader(embeddedOpenAIVocab), "embedded "+OpenAIVocabFile)
})

// Default returns a tokenizer with OpenAI's CLIP vocabulary, embedded in the
// binary.
func Default() (*Tokenizer, error) {
	v, err := defaultVocabulary()
	if err != nil {
		return nil, err
	}
	return newTokenizer(v), nil
}

// FromDir loads the tokenizer files of a model directory: tokenizer.json if
// present, else vocab.json with merges.txt, else bpe_simple_vocab_16e6.txt.gz.
func FromDir(dir string) (*Tokenizer, error) {
	load, err := find(dir)
	if err != nil {
		return nil, err
	}
	return load()
}

// CheckDir says whether a model directory holds tokenizer files FromDir
// would load, without reading them.
func CheckDir(dir string) error {
	_, err := find(dir)
	return err
}

// find picks the tokenizer files of dir and returns how to load them.
func find(dir string) (func() (*Tokenizer, error), error) {
	has := func(name string) bool {
		info, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !info.IsDir()
	}
	switch {
	case has(TokenizerJSONFile):
		return func() (*Tokenizer, error) { return FromTokenizerJSON(filepath.Join(dir, TokenizerJSONFile)) }, nil
	case has(VocabJSONFile) && has(MergesFile):
		return func() (*Tokenizer, error) {
			return FromVocabMerges(filepath.Join(dir, VocabJSONFile), filepath.Join(dir, MergesFile))
		}, nil
	case has(OpenAIVocabFile):
		return func() (*Tokenizer, error) { return FromOpenAIVocab(filepath.Join(dir, OpenAIVocabFile)) }, nil
	}
	return nil, fmt.Errorf("no tokenizer in %s: looked for %s, %s with %s, and %s",
		dir, TokenizerJSONFile, VocabJSONFile, MergesFile, OpenAIVocabFile)
}

// FromOpenAIVocab loads OpenAI's bpe_simple_vocab_16e6.txt.gz (a header line,
// then one merge per line) and, like CLIP, uses its first 48894 merges.
func FromOpenAIVocab(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading tokenizer: %w", err)
	}
	defer f.Close()
	v, err := parseOpenAIVocab(f, path)
	if err != nil {
		return nil, err
	}
	return newTokenizer(v), nil
}

func parseOpenAIVocab(r io.Reader, name string) (*vocabulary, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer gz.Close()
	lines := bufio.NewScanner(gz)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)

	merges := make([][2]string, 0, openAIMergeCount)
	lineNo := 0
	for len(merges) < openAIMergeCount && lines.Scan() {
		lineNo++
		if lineNo == 1 {
			continue // "#version: 0.2" header
		}
		fields := strings.Fields(lines.Text())
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want two symbols separated by a space, got %q", name, lineNo, lines.Text())
		}
		merges = append(merges, [2]string{fields[0], fields[1]})
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(merges) < openAIMergeCount {
		return nil, fmt.Errorf("%s: has %d merges, CLIP needs %d", name, len(merges), openAIMergeCount)
	}
	v, err := openAIVocabulary(merges, func(i int) string { return fmt.Sprintf("%s:%d", name, i+2) })
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	return v, nil
}

// FromVocabMerges loads Hugging Face's vocab.json (token -> id) and
// merges.txt (an optional "#version" line, then one merge per line).
func FromVocabMerges(vocabPath, mergesPath string) (*Tokenizer, error) {
	ids, err := readVocabJSON(vocabPath)
	if err != nil {
		return nil, err
	}
	merges, lineOf, err := readMergesTxt(mergesPath)
	if err != nil {
		return nil, err
	}
	v, err := newVocabulary(ids, merges, func(i int) string { return fmt.Sprintf("%s:%d", mergesPath, lineOf[i]) })
	if err != nil {
		return nil, fmt.Errorf("loading %s with %s: %w", vocabPath, mergesPath, err)
	}
	return newTokenizer(v), nil
}

func readVocabJSON(path string) (map[string]int32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading tokenizer: %w", err)
	}
	var ids map[string]int32
	if err := json.Unmarshal(data, &ids); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, describeJSONError(err, data))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("reading %s: no tokens", path)
	}
	return ids, nil
}

// readMergesTxt returns the merges and, for each, its 1-based line number.
func readMergesTxt(path string) ([][2]string, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("loading tokenizer: %w", err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var merges [][2]string
	var lineOf []int
	for lineNo := 1; lines.Scan(); lineNo++ {
		line := strings.TrimRight(lines.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#version") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, nil, fmt.Errorf("%s:%d: want two symbols separated by a space, got %q", path, lineNo, line)
		}
		merges = append(merges, [2]string{fields[0], fields[1]})
		lineOf = append(lineOf, lineNo)
	}
	if err := lines.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return merges, lineOf, nil
}

// tokenizerJSON is the part of a Hugging Face tokenizer.json the BPE needs.
type tokenizerJSON struct {
	Model *struct {
		Type            string            `json:"type"`
		Vocab           map[string]int32  `json:"vocab"`
		Merges          []json.RawMessage `json:"merges"`
		EndOfWordSuffix *string           `json:"end_of_word_suffix"`
	} `json:"model"`
	AddedTokens []struct {
		ID      int32  `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
}

// FromTokenizerJSON loads a Hugging Face tokenizer.json holding a BPE model;
// its merges may be "a b" strings or ["a", "b"] pairs.
func FromTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading tokenizer: %w", err)
	}
	var doc tokenizerJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, describeJSONError(err, data))
	}
	m := doc.Model
	switch {
	case m == nil:
		return nil, fmt.Errorf("reading %s: no \"model\" object", path)
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("reading %s: model type %q, want BPE", path, m.Type)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != endOfWord:
		return nil, fmt.Errorf("reading %s: end_of_word_suffix %q, CLIP uses %q", path, *m.EndOfWordSuffix, endOfWord)
	case len(m.Vocab) == 0:
		return nil, fmt.Errorf("reading %s: model.vocab is missing or empty", path)
	}
	ids := m.Vocab
	for _, added := range doc.AddedTokens {
		if _, known := ids[added.Content]; !known {
			ids[added.Content] = added.ID
		}
	}
	merges := make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		if merges[i], err = parseJSONMerge(raw); err != nil {
			return nil, fmt.Errorf("reading %s: model.merges[%d]: %w", path, i, err)
		}
	}
	v, err := newVocabulary(ids, merges, func(i int) string { return fmt.Sprintf("%s: model.merges[%d]", path, i) })
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	return newTokenizer(v), nil
}

// parseJSONMerge reads one merge written as "a b" or as ["a", "b"].
func parseJSONMerge(raw json.RawMessage) ([2]string, error) {
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return [2]string{}, fmt.Errorf("want two symbols separated by a space, got %q", text)
		}
		return [2]string{fields[0], fields[1]}, nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 || pair[0] == "" || pair[1] == "" {
		return [2]string{}, fmt.Errorf("want \"a b\" or [\"a\", \"b\"], got %s", raw)
	}
	return [2]string{pair[0], pair[1]}, nil
}

// describeJSONError adds the line number to a JSON syntax error.
func describeJSONError(err error, data []byte) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		line := 1 + bytes.Count(data[:min(int(syntax.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}

// WriteFiles writes the vocabulary into dir in Hugging Face's layout,
// vocab.json and merges.txt, creating dir if needed; FromDir reads it back.
func (t *Tokenizer) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing tokenizer files: %w", err)
	}
	v := t.vocab

	var vocab bytes.Buffer
	vocab.WriteByte('{')
	enc := json.NewEncoder(&vocab)
	enc.SetEscapeHTML(false) // keep "<|startoftext|>" readable, as Hugging Face does
	first := true
	for id, tok := range v.tokens {
		if tok == "" {
			continue
		}
		if !first {
			vocab.WriteByte(',')
		}
		first = false
		if err := enc.Encode(tok); err != nil {
			return fmt.Errorf("writing %s: %w", VocabJSONFile, err)
		}
		vocab.Truncate(vocab.Len() - 1) // Encode ends each value with a newline
		fmt.Fprintf(&vocab, ":%d", id)
	}
	vocab.WriteString("}\n")

	var merges bytes.Buffer
	merges.WriteString("#version: 0.2\n")
	for _, p := range v.pairs {
		fmt.Fprintf(&merges, "%s %s\n", v.tokens[p.left], v.tokens[p.right])
	}

	for name, data := range map[string][]byte{VocabJSONFile: vocab.Bytes(), MergesFile: merges.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing tokenizer files: %w", err)
		}
	}
	return nil
}
