package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// samplePrompts mixes the published vector texts with inspection prompts.
func samplePrompts(t *testing.T) []string {
	t.Helper()
	prompts := []string{
		"a photo of a scratched aluminium housing",
		"a close-up of a cracked solder joint on a PCB",
		"Label misprinted: “LOT 42-B” — rejected",
		"ＦＵＬＬ　ＷＩＤＴＨ ﬁlm &amp; ﬂange",
	}
	for _, v := range loadVectors(t) {
		prompts = append(prompts, v.Text)
	}
	return prompts
}

// assertSameIDs checks that every tokenizer gives the reference's ids.
func assertSameIDs(t *testing.T, prompts []string, reference *Tokenizer, others map[string]*Tokenizer) {
	t.Helper()
	for name, tok := range others {
		if tok.SOT() != reference.SOT() || tok.EOT() != reference.EOT() || tok.VocabSize() != reference.VocabSize() {
			t.Errorf("%s: SOT/EOT/size %d/%d/%d, want %d/%d/%d", name,
				tok.SOT(), tok.EOT(), tok.VocabSize(), reference.SOT(), reference.EOT(), reference.VocabSize())
		}
		for _, p := range prompts {
			if got, want := tok.Encode(p), reference.Encode(p); !slices.Equal(got, want) {
				t.Errorf("%s: Encode(%q) = %v, want %v", name, p, got, want)
			}
		}
	}
}

// writeTokenizerJSON writes a Hugging Face tokenizer.json for tok's
// vocabulary, with merges as "a b" strings or as ["a", "b"] pairs.
func writeTokenizerJSON(t *testing.T, dir string, tok *Tokenizer, pairMerges bool) {
	t.Helper()
	v := tok.vocab
	vocab := make(map[string]int32, len(v.tokens))
	for id, s := range v.tokens {
		if s != startToken && s != endToken { // those come from added_tokens
			vocab[s] = int32(id)
		}
	}
	merges := make([]any, len(v.pairs))
	for i, p := range v.pairs {
		if pairMerges {
			merges[i] = []string{v.tokens[p.left], v.tokens[p.right]}
		} else {
			merges[i] = v.tokens[p.left] + " " + v.tokens[p.right]
		}
	}
	doc := map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": tok.SOT(), "content": startToken, "special": true},
			{"id": tok.EOT(), "content": endToken, "special": true},
		},
		"model": map[string]any{
			"type": "BPE", "vocab": vocab, "merges": merges,
			"end_of_word_suffix": endOfWord, "continuing_subword_prefix": "",
		},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, TokenizerJSONFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadersGiveIdenticalIDs(t *testing.T) {
	reference, err := Default()
	if err != nil {
		t.Fatal(err)
	}

	fromGz, err := FromOpenAIVocab(filepath.Join("vocab", OpenAIVocabFile))
	if err != nil {
		t.Fatal(err)
	}

	hfDir := t.TempDir()
	if err := reference.WriteFiles(hfDir); err != nil {
		t.Fatal(err)
	}
	fromHF, err := FromDir(hfDir)
	if err != nil {
		t.Fatal(err)
	}

	stringsDir, pairsDir := t.TempDir(), t.TempDir()
	writeTokenizerJSON(t, stringsDir, reference, false)
	writeTokenizerJSON(t, pairsDir, reference, true)
	fromJSONStrings, err := FromDir(stringsDir)
	if err != nil {
		t.Fatal(err)
	}
	fromJSONPairs, err := FromDir(pairsDir)
	if err != nil {
		t.Fatal(err)
	}

	gzDir := t.TempDir()
	gz, err := os.ReadFile(filepath.Join("vocab", OpenAIVocabFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gzDir, OpenAIVocabFile), gz, 0o644); err != nil {
		t.Fatal(err)
	}
	fromGzDir, err := FromDir(gzDir)
	if err != nil {
		t.Fatal(err)
	}

	loaded := map[string]*Tokenizer{
		"bpe_simple_vocab_16e6.txt.gz": fromGz,
		"FromDir(gz)":                  fromGzDir,
		"vocab.json+merges.txt":        fromHF,
		"tokenizer.json string merges": fromJSONStrings,
		"tokenizer.json pair merges":   fromJSONPairs,
	}
	assertSameIDs(t, samplePrompts(t), reference, loaded)
	// The published vectors hold for a loaded vocabulary too, not only the
	// embedded one.
	checkVectors(t, fromJSONPairs)
}

func TestWriteFilesLayout(t *testing.T) {
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tok.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	var vocab map[string]int
	data, err := os.ReadFile(filepath.Join(dir, VocabJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &vocab); err != nil {
		t.Fatal(err)
	}
	// Hugging Face's openai/clip-vit-base-patch32 vocab.json values.
	for tok, id := range map[string]int{"!": 0, "a</w>": 320, "photo</w>": 1125, startToken: 49406, endToken: 49407} {
		if vocab[tok] != id {
			t.Errorf("vocab.json[%q] = %d, want %d", tok, vocab[tok], id)
		}
	}
	merges, err := os.ReadFile(filepath.Join(dir, MergesFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(merges), "\n"), "\n")
	if lines[0] != "#version: 0.2" || lines[1] != "i n" || len(lines) != 1+openAIMergeCount {
		t.Errorf("merges.txt starts %q, %q and has %d lines; want the header, \"i n\", %d lines",
			lines[0], lines[1], len(lines), 1+openAIMergeCount)
	}
}

func TestFromDirPrefersTokenizerJSON(t *testing.T) {
	reference, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTokenizerJSON(t, dir, reference, false)
	// Broken lower-priority files must not be read at all.
	for _, name := range []string{VocabJSONFile, MergesFile, OpenAIVocabFile} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not a vocabulary"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := FromDir(dir); err != nil {
		t.Fatalf("FromDir with tokenizer.json: %v", err)
	}
}

func TestFromDirNamesWhatItLookedFor(t *testing.T) {
	dir := t.TempDir()
	// vocab.json alone is not enough.
	if err := os.WriteFile(filepath.Join(dir, VocabJSONFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := FromDir(dir)
	if err == nil {
		t.Fatal("FromDir on a directory without tokenizer files succeeded")
	}
	for _, name := range []string{TokenizerJSONFile, VocabJSONFile, MergesFile, OpenAIVocabFile, dir} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
}

// gzipLines compresses lines joined by newlines.
func gzipLines(t *testing.T, lines []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write([]byte(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// openAIMergeLines returns the header and merges of the real vocabulary.
func openAIMergeLines(t *testing.T) []string {
	t.Helper()
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"#version: 0.2"}
	for _, p := range tok.vocab.pairs {
		lines = append(lines, tok.vocab.tokens[p.left]+" "+tok.vocab.tokens[p.right])
	}
	return lines
}

func TestMalformedFilesAreNamed(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	goodMerges := openAIMergeLines(t)

	badLine := slices.Clone(goodMerges)
	badLine[7] = "th e r"
	unknownSymbol := slices.Clone(goodMerges)
	unknownSymbol[3] = "i ☃"
	repeatedMerge := slices.Clone(goodMerges)
	repeatedMerge[5] = goodMerges[1]

	hfVocab := write("good_vocab.json", func() []byte {
		tok, err := Default()
		if err != nil {
			t.Fatal(err)
		}
		if err := tok.WriteFiles(filepath.Join(dir, "hf")); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "hf", VocabJSONFile))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}())
	hfMerges := filepath.Join(dir, "hf", MergesFile)

	noSOT := map[string]int{}
	{
		tok, err := Default()
		if err != nil {
			t.Fatal(err)
		}
		for id, s := range tok.vocab.tokens {
			if s != startToken {
				noSOT[s] = id
			}
		}
	}
	noSOTJSON, err := json.Marshal(noSOT)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		load  func() error
		wants []string // substrings the error must contain
	}{
		{"gz that is not gzip", func() error {
			_, err := FromOpenAIVocab(write("plain.txt.gz", []byte("#version: 0.2\ni n\n")))
			return err
		}, []string{"plain.txt.gz", "gzip"}},
		{"gz with a bad merge line", func() error {
			_, err := FromOpenAIVocab(write("badline.txt.gz", gzipLines(t, badLine)))
			return err
		}, []string{"badline.txt.gz:8", `"th e r"`}},
		{"gz with too few merges", func() error {
			_, err := FromOpenAIVocab(write("short.txt.gz", gzipLines(t, goodMerges[:1000])))
			return err
		}, []string{"short.txt.gz", "999 merges"}},
		{"gz merging an unknown symbol", func() error {
			_, err := FromOpenAIVocab(write("unknown.txt.gz", gzipLines(t, unknownSymbol)))
			return err
		}, []string{"unknown.txt.gz:4", "☃"}},
		{"gz with a merge result twice", func() error {
			_, err := FromOpenAIVocab(write("repeated.txt.gz", gzipLines(t, repeatedMerge)))
			return err
		}, []string{"repeated.txt.gz:6", "appears twice"}},
		{"vocab.json that is not JSON", func() error {
			_, err := FromVocabMerges(write("broken_vocab.json", []byte("{\n\"a\": 1,\n\"b\" 2}")), hfMerges)
			return err
		}, []string{"broken_vocab.json", "line 3"}},
		{"merges.txt line with three symbols", func() error {
			_, err := FromVocabMerges(hfVocab, write("three.txt", []byte("#version: 0.2\ni n\nt h e\n")))
			return err
		}, []string{"three.txt:3", `"t h e"`}},
		{"merges.txt merging an unknown symbol", func() error {
			_, err := FromVocabMerges(hfVocab, write("unknown_merges.txt", []byte("#version: 0.2\ni n\nq ☃\n")))
			return err
		}, []string{"unknown_merges.txt:3", "☃"}},
		{"vocab.json without <|startoftext|>", func() error {
			_, err := FromVocabMerges(write("no_sot.json", noSOTJSON), hfMerges)
			return err
		}, []string{"no_sot.json", startToken}},
		{"tokenizer.json without a model", func() error {
			_, err := FromTokenizerJSON(write("nomodel.json", []byte(`{"version": "1.0"}`)))
			return err
		}, []string{"nomodel.json", "model"}},
		{"tokenizer.json with a bad merge entry", func() error {
			doc := fmt.Sprintf(`{"model": {"type": "BPE", "vocab": %s, "merges": ["i n", ["t"], "a n"]}}`, noSOTJSON)
			_, err := FromTokenizerJSON(write("badmerge.json", []byte(doc)))
			return err
		}, []string{"badmerge.json", "model.merges[1]"}},
		{"tokenizer.json of another model type", func() error {
			_, err := FromTokenizerJSON(write("wordpiece.json", []byte(`{"model": {"type": "WordPiece", "vocab": {"a": 0}}}`)))
			return err
		}, []string{"wordpiece.json", "WordPiece"}},
		{"missing file", func() error {
			_, err := FromOpenAIVocab(filepath.Join(dir, "absent.txt.gz"))
			return err
		}, []string{"absent.txt.gz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.load()
			if err == nil {
				t.Fatal("loading succeeded")
			}
			for _, want := range c.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}
