package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/internal/pyref"
)

// randomPrompts makes prompts at test time: inspection vocabulary, numbers,
// punctuation, contractions, accented and non-Latin letters, HTML entities
// and odd spacing — but none of the characters ftfy would rewrite, since the
// Python reference has no ftfy.
func randomPrompts(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := []string{
		"a", "photo", "of", "the", "scratched", "dented", "flawless", "metal", "bracket", "washer",
		"bottle-cap", "connector's", "PINS", "M8", "3.5mm", "2nd", "isn't", "we'll", "they'd", "you're",
		"café", "Größe", "naïve", "défaut", "рыжий", "דלת", "日本製", "부품", "😀", "✓", "x²",
		"&amp;", "&lt;ok&gt;", "&#39;", "&amp;quot;", "AT&T", "<|endoftext|>", "...", "--", "(v2)",
		"10,000", "$5", "#42", "e-mail", "O'Brien", "rock'n'roll", "don't", "USB-C", "ÆØÅ", "ﬁne",
	}
	spaces := []string{" ", "  ", "\t", " \n "}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for j, k := 0, 1+rng.IntN(12); j < k; j++ {
			if j > 0 {
				b.WriteString(spaces[rng.IntN(len(spaces))])
			}
			w := words[rng.IntN(len(words))]
			if w == "ﬁne" { // a ligature ftfy would split: keep it out
				w = "fine"
			}
			b.WriteString(w)
		}
		out[i] = b.String()
	}
	return out
}

// TestMatchesIndependentPythonTokenizer compares 3,000 prompts made at test
// time with an independent Python implementation of OpenAI's algorithm.
func TestMatchesIndependentPythonTokenizer(t *testing.T) {
	py := pyref.Python(t, "regex")
	prompts := randomPrompts(3000, uint64(os.Getpid()))
	var in bytes.Buffer
	for _, p := range prompts {
		line, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(line, '\n'))
	}
	cmd := exec.Command(py, filepath.Join("testdata", "reference_tokenizer.py"), filepath.Join("vocab", "bpe_simple_vocab_16e6.txt.gz"))
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference tokenizer: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(prompts) {
		t.Fatalf("%d reference lines for %d prompts", len(lines), len(prompts))
	}
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	mismatches := 0
	for i, p := range prompts {
		var want []int
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		got := append(append([]int{tok.SOT()}, tok.Encode(p)...), tok.EOT())
		if fmt.Sprint(got) != fmt.Sprint(want) {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("prompt %q:\n got  %v\n want %v", p, got, want)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d prompts differ from the reference", mismatches, len(prompts))
	}
}
