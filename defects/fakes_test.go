package defects

import (
	"fmt"
	"slices"
	"sync"
)

// fakeEncoder embeds prompts from a table and records every batch it gets.
// Prompts not in the table get a vector derived from their length, so any
// prompt can be encoded.
type fakeEncoder struct {
	mu      sync.Mutex
	vectors map[string][]float32
	batches [][]string
	err     error
	short   bool // answer one embedding too few
}

func (e *fakeEncoder) EmbedTexts(texts []string) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batches = append(e.batches, slices.Clone(texts))
	if e.err != nil {
		return nil, e.err
	}
	out := make([][]float32, 0, len(texts))
	for _, t := range texts {
		v, ok := e.vectors[t]
		if !ok {
			v = []float32{float32(len(t)), 1, 0}
		}
		out = append(out, slices.Clone(v))
	}
	if e.short {
		out = out[:len(out)-1]
	}
	return out, nil
}

func (e *fakeEncoder) encoded() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var all []string
	for _, b := range e.batches {
		all = append(all, b...)
	}
	return all
}

func (e *fakeEncoder) calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.batches)
}

func (e *fakeEncoder) String() string { return fmt.Sprint(e.batches) }
