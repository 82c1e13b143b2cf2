package reference

import (
	"fmt"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// Text runs CLIPTextModel plus the text projection on token ids. Every row
// must have the same length, at most max_position_embeddings. The pooled
// token of a row is its highest id (OpenAI's EOT), the first one on ties.
func Text(cfg arch.Config, w arch.Weights, ids [][]int64) (*Trace, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("reference text: %w", err)
	}
	if err := w.Check(cfg, arch.Text); err != nil {
		return nil, fmt.Errorf("reference text: %w", err)
	}
	tc := cfg.TextConfig
	if err := checkIDs(tc, ids); err != nil {
		return nil, fmt.Errorf("reference text: %w", err)
	}
	act, err := activation(tc.HiddenAct)
	if err != nil {
		return nil, fmt.Errorf("reference text: %w", err)
	}

	batch, seq, width := len(ids), len(ids[0]), tc.HiddenSize
	tokens := w["text_model.embeddings.token_embedding.weight"].Data
	positions := w["text_model.embeddings.position_embedding.weight"].Data
	x := make([]float64, batch*seq*width)
	for b, row := range ids {
		for t, id := range row {
			for o := 0; o < width; o++ {
				x[(b*seq+t)*width+o] = float64(tokens[int(id)*width+o]) + float64(positions[t*width+o])
			}
		}
	}

	enc := encoder{w: w, prefix: "text_model", layers: tc.NumHiddenLayers, width: width,
		heads: tc.NumAttentionHeads, eps: tc.LayerNormEps, act: act, causal: true}
	hidden := enc.run(x, batch, seq)

	// final_layer_norm acts on each position on its own, so normalising only the
	// EOT rows gives the same numbers as normalising all of them.
	last := hidden[len(hidden)-1]
	eot := make([]float64, batch*width)
	for b, row := range ids {
		t := argmax(row)
		copy(eot[b*width:(b+1)*width], last[(b*seq+t)*width:(b*seq+t+1)*width])
	}
	pooled := layerNorm(eot, batch, width, w["text_model.final_layer_norm.weight"], w["text_model.final_layer_norm.bias"], tc.LayerNormEps)
	embeds := linear(pooled, batch, w["text_projection.weight"], nil)
	return &Trace{Hidden: hidden, Pooled: pooled, Embeds: embeds,
		Batch: batch, Seq: seq, Width: width, Dim: cfg.ProjectionDim}, nil
}

func checkIDs(tc arch.TextConfig, ids [][]int64) error {
	if len(ids) == 0 || len(ids[0]) == 0 {
		return fmt.Errorf("no token ids")
	}
	seq := len(ids[0])
	if seq > tc.MaxPositionEmbeddings {
		return fmt.Errorf("%d tokens per row, the model has %d positions", seq, tc.MaxPositionEmbeddings)
	}
	for b, row := range ids {
		if len(row) != seq {
			return fmt.Errorf("row %d has %d tokens, row 0 has %d", b, len(row), seq)
		}
		for t, id := range row {
			if id < 0 || id >= int64(tc.VocabSize) {
				return fmt.Errorf("row %d position %d: token id %d outside vocabulary of %d", b, t, id, tc.VocabSize)
			}
		}
	}
	return nil
}

// argmax is torch.argmax on one row: the first index of the largest value.
func argmax(row []int64) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}
