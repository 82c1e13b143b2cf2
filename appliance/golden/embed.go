package golden

import (
	"context"
	"fmt"
	"image"
	"sync"

	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
)

// Embedding is one image's model outputs the anomaly maps need.
type Embedding struct {
	Tokens [][]float32 // patch tokens [patches*width] per memory layer, in the layers' order
	Dense  []float32   // unit patch embeddings [patches*dim]; nil when the model lacks them
}

// Embedder runs the vision model on one image. The appliance gives the
// inspection loop's own session (one inference per golden image, serialised
// with the loop's), so building a bank adds work between frames but never
// stops the line.
type Embedder interface {
	// CheckPatches says, as an error, why the model cannot give the patch
	// tokens of layers or (with dense) the dense patch embeddings.
	CheckPatches(layers []int, dense bool) error
	// Embed returns img's patch tokens at layers and its dense embeddings
	// (when the model has them), copies the caller keeps.
	Embed(ctx context.Context, img image.Image, layers []int) (Embedding, error)
}

// Model is the model the banks are built with.
type Model struct {
	// Digest identifies the model's answers: a new digest rebuilds every
	// bank.
	Digest string
	// Layers are the memory layers a set without layers of its own uses:
	// those the graph builder exported (engine.Vision.PatchLayers).
	Layers   []int
	Patches  int     // per image: grid x grid
	Width    int     // of a patch token
	Scale    float64 // exp(logit_scale), for the zero-shot map
	Embedder Embedder
	// NewSearcher chooses the banks' search (e.g. clip.Model.NewBankSearch);
	// nil uses anomaly's plain-Go search.
	NewSearcher anomaly.NewSearcher
}

// ModelOf describes an opened CLIP model, embedding with its vision session
// through a preprocessor of its own (the loop's is not shared).
func ModelOf(m *clip.Model) Model {
	g := m.Vision.Grid()
	return Model{
		Digest: m.Digest, Layers: m.Vision.PatchLayers(), Patches: g * g, Width: m.Vision.PatchWidth(), Scale: m.LogitScale,
		Embedder: &clipEmbedder{m: m},
		NewSearcher: func(rows []float32, width int) (anomaly.Searcher, error) {
			return m.NewBankSearch(rows, width)
		},
	}
}

// clipEmbedder embeds with a clip.Model's vision session. Its preprocessor
// and input buffer are its own and reused, so the session binds one more
// tensor set, once.
type clipEmbedder struct {
	m     *clip.Model
	mu    sync.Mutex
	pre   *preprocess.Preprocessor
	batch *preprocess.Batch
}

func (e *clipEmbedder) CheckPatches(layers []int, dense bool) error {
	return e.m.CheckPatches(layers, dense)
}

func (e *clipEmbedder) Embed(ctx context.Context, img image.Image, layers []int) (Embedding, error) {
	if err := ctx.Err(); err != nil {
		return Embedding{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pre == nil {
		e.pre = preprocess.New(e.m.Bundle.Preprocess)
		e.batch = preprocess.NewBatch(1, e.m.Bundle.Preprocess)
	}
	if err := e.pre.Image(img, e.batch.Slot(0)); err != nil {
		return Embedding{}, fmt.Errorf("preprocess golden image: %w", err)
	}
	e.batch.SetLen(1)
	run, err := e.m.Vision.EmbedPatches(e.batch.Data(), 1)
	if err != nil {
		return Embedding{}, err
	}
	have := e.m.Vision.PatchLayers()
	out := Embedding{Tokens: make([][]float32, len(layers))}
	for i, l := range layers {
		j := indexOf(have, l)
		if j < 0 {
			return Embedding{}, e.m.CheckPatches(layers, false)
		}
		out.Tokens[i] = append([]float32(nil), run.Tokens[j]...)
	}
	if run.Dense != nil {
		out.Dense = append([]float32(nil), run.Dense...)
	}
	return out, nil
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
