package tokenizer

import (
	"bytes"
	"fmt"
	"testing"
)

// inspectionPrompts returns n distinct prompts of the kind an inspection
// line uses: a few hundred words recombined, so the word cache warms up
// across prompts as it would in service.
func inspectionPrompts(n int) []string {
	parts := []string{"housing", "bracket", "connector", "solder joint", "weld seam", "label", "gasket", "bottle cap", "PCB", "screw"}
	defects := []string{"a scratch", "a dent", "a crack", "missing paint", "a burr", "corrosion", "a misprint", "no defect", "a bubble", "a chip"}
	views := []string{"a photo of", "a close-up photo of", "an X-ray image of", "a blurry photo of", "a top-down view of"}
	prompts := make([]string, n)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("%s a %s with %s, lot %d",
			views[i%len(views)], parts[(i/5)%len(parts)], defects[(i/50)%len(defects)], i)
	}
	return prompts
}

const benchPrompts = 10_000

// BenchmarkTokenize10kCold tokenises 10,000 distinct prompts with empty
// caches each time: the cost of a fresh process's first batch.
func BenchmarkTokenize10kCold(b *testing.B) {
	v, err := defaultVocabulary()
	if err != nil {
		b.Fatal(err)
	}
	prompts := inspectionPrompts(benchPrompts)
	row := make([]int64, DefaultContext)
	b.ReportAllocs()
	for b.Loop() {
		tok := newTokenizer(v) // shares the parsed vocabulary, fresh caches
		for _, p := range prompts {
			if _, err := tok.TokenizeInto(row, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPrompts), "ns/prompt")
}

// BenchmarkTokenize10kWarm tokenises the same 10,000 prompts again: every
// one is a prompt-cache hit.
func BenchmarkTokenize10kWarm(b *testing.B) {
	tok := defaultTokenizer(b)
	prompts := inspectionPrompts(benchPrompts)
	row := make([]int64, DefaultContext)
	for _, p := range prompts {
		if _, err := tok.TokenizeInto(row, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range prompts {
			if _, err := tok.TokenizeInto(row, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPrompts), "ns/prompt")
}

// BenchmarkTokenizeWarmParallel measures cache hits from all cores at once,
// where the prompt cache's lock is shared.
func BenchmarkTokenizeWarmParallel(b *testing.B) {
	tok := defaultTokenizer(b)
	prompts := inspectionPrompts(1000)
	for _, p := range prompts {
		tok.Encode(p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		row := make([]int64, DefaultContext)
		i := 0
		for pb.Next() {
			if _, err := tok.TokenizeInto(row, prompts[i%len(prompts)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkLoadOpenAIVocab measures parsing the embedded vocabulary, which
// Default does once per process.
func BenchmarkLoadOpenAIVocab(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseOpenAIVocab(bytes.NewReader(embeddedOpenAIVocab), OpenAIVocabFile); err != nil {
			b.Fatal(err)
		}
	}
}
