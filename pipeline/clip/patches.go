package clip

import (
	"fmt"
	"image"

	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
)

// Patches are one image's outputs from a vision run with patch outputs
// (docs/models.md): its embedding and what anomaly maps are made from.
type Patches struct {
	Embedding []float32 // projected, not normalised, as EmbedImages gives
	Grid      int       // patches form a Grid x Grid grid, row-major
	// Tokens are the patch tokens [Grid*Grid, width] of each layer the
	// model exports.
	Tokens map[int][]float32
	// Dense are the unit patch embeddings [Grid*Grid, dim]; nil when the
	// model lacks them.
	Dense []float32
}

// CheckPatches says, as an error, why the vision model cannot give the patch
// tokens of layers or (with dense) the dense patch embeddings; nil when it can.
func (m *Model) CheckPatches(layers []int, dense bool) error {
	if m.Vision == nil {
		return fmt.Errorf("patch outputs: the vision model is not loaded")
	}
	return m.Vision.CheckPatchOutputs(layers, dense)
}

// NewBankSearch makes a golden-sample bank search over rows [n, width] in
// ONNX Runtime, with the model's session options (threads, spin-waiting).
func (m *Model) NewBankSearch(rows []float32, width int) (*engine.BankSearch, error) {
	return engine.NewBankSearch(rows, width, m.session)
}

// EmbedPatches preprocesses and runs images one at a time, returning each
// one's embedding and patch outputs (copies), in order.
func (m *Model) EmbedPatches(imgs []image.Image) ([]Patches, error) {
	if m.Vision == nil {
		return nil, fmt.Errorf("embed patches: the vision model is not loaded")
	}
	layers := m.Vision.PatchLayers()
	batch := preprocess.NewBatch(1, m.Bundle.Preprocess)
	out := make([]Patches, len(imgs))
	for i, img := range imgs {
		if err := m.Preprocess.Image(img, batch.Slot(0)); err != nil {
			return nil, fmt.Errorf("preprocess image %d: %w", i, err)
		}
		batch.SetLen(1)
		run, err := m.Vision.EmbedPatches(batch.Data(), 1)
		if err != nil {
			return nil, err
		}
		p := Patches{Embedding: clone(run.Embeds), Grid: m.Vision.Grid(), Dense: clone(run.Dense), Tokens: map[int][]float32{}}
		for j, l := range layers {
			p.Tokens[l] = clone(run.Tokens[j])
		}
		out[i] = p
	}
	return out, nil
}

func clone(v []float32) []float32 {
	if v == nil {
		return nil
	}
	return append([]float32(nil), v...)
}
