package reference

import (
	"fmt"
	"math"
	"testing"
)

// A short prompt padded after EOT (49407) the way OpenAI's tokenizer pads.
var prompt = []int64{49406, 320, 1125, 539, 49407, 0, 0, 0}

const eotPos = 4

func TestTextIgnoresTokensAfterEOT(t *testing.T) {
	cfg, w := tinyModel(t)
	base, err := Text(cfg, w, [][]int64{prompt})
	if err != nil {
		t.Fatal(err)
	}
	after := append([]int64(nil), prompt...)
	after[eotPos+1], after[eotPos+3] = 4000, 123
	changed, err := Text(cfg, w, [][]int64{after})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(base.Embeds, changed.Embeds); d != 0 {
		t.Errorf("changing tokens after EOT moved Embeds by %g", d)
	}
	// The change must still reach the later positions, or the test proves nothing.
	last := len(base.Hidden) - 1
	at := (eotPos + 1) * base.Width
	if maxAbsDiff(base.Hidden[last][at:], changed.Hidden[last][at:]) == 0 {
		t.Error("tokens after EOT did not change their own hidden states")
	}

	before := append([]int64(nil), prompt...)
	before[2] = 4000
	moved, err := Text(cfg, w, [][]int64{before})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(base.Embeds, moved.Embeds); d < 1e-6 {
		t.Errorf("changing a token before EOT moved Embeds by only %g", d)
	}
}

func TestTextPoolsAtEOTNotAtEnd(t *testing.T) {
	cfg, w := tinyModel(t)
	padded, err := Text(cfg, w, [][]int64{prompt})
	if err != nil {
		t.Fatal(err)
	}
	// The same prompt cut right after EOT: with a causal mask and pooling at
	// EOT, padding cannot matter.
	short, err := Text(cfg, w, [][]int64{prompt[:eotPos+1]})
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "Embeds", padded.Embeds, short.Embeds, 1e-12)
	assertClose(t, "Pooled", padded.Pooled, short.Pooled, 1e-12)
}

func TestTextBatchRowsAreIndependent(t *testing.T) {
	cfg, w := tinyModel(t)
	other := []int64{49406, 2368, 49407, 0, 0, 0, 0, 0}
	both, err := Text(cfg, w, [][]int64{prompt, other})
	if err != nil {
		t.Fatal(err)
	}
	for b, row := range [][]int64{prompt, other} {
		one, err := Text(cfg, w, [][]int64{row})
		if err != nil {
			t.Fatal(err)
		}
		n := one.Seq * one.Width
		for i := range one.Hidden {
			assertClose(t, fmt.Sprintf("row %d Hidden[%d]", b, i), both.Hidden[i][b*n:(b+1)*n], one.Hidden[i], 1e-12)
		}
		assertClose(t, fmt.Sprintf("row %d Embeds", b), both.Embeds[b*both.Dim:(b+1)*both.Dim], one.Embeds, 1e-12)
	}
	if both.Batch != 2 || both.Seq != len(prompt) || both.Width != cfg.TextConfig.HiddenSize || both.Dim != cfg.ProjectionDim {
		t.Errorf("trace sizes batch %d seq %d width %d dim %d", both.Batch, both.Seq, both.Width, both.Dim)
	}
	if len(both.Hidden) != cfg.TextConfig.NumHiddenLayers+1 {
		t.Errorf("%d hidden states for %d layers", len(both.Hidden), cfg.TextConfig.NumHiddenLayers)
	}
}

// With q and k zero every visible position gets the same attention weight, so
// with identity v/out projections layer 0 adds to each position the mean of
// layer_norm1 over itself and the positions before it. fc1 and fc2 copy the
// first width features in and out, so the MLP adds act(layer_norm2(r)).
func TestTextCausalAverageByHand(t *testing.T) {
	cfg, w := tinyModel(t)
	cfg.TextConfig.NumHiddenLayers = 1
	p := "text_model.encoder.layers.0."
	for _, name := range []string{"self_attn.q_proj.weight", "self_attn.q_proj.bias",
		"self_attn.k_proj.weight", "self_attn.k_proj.bias",
		"self_attn.v_proj.bias", "self_attn.out_proj.bias",
		"mlp.fc1.bias", "mlp.fc2.bias"} {
		fill(w, p+name, 0)
	}
	setIdentity(w, p+"self_attn.v_proj.weight")
	setIdentity(w, p+"self_attn.out_proj.weight")
	setIdentity(w, p+"mlp.fc1.weight")
	setIdentity(w, p+"mlp.fc2.weight")

	ids := prompt[:eotPos+1]
	tr, err := Text(cfg, w, [][]int64{ids})
	if err != nil {
		t.Fatal(err)
	}
	width, eps := tr.Width, cfg.TextConfig.LayerNormEps
	tokens := w["text_model.embeddings.token_embedding.weight"].Data
	positions := w["text_model.embeddings.position_embedding.weight"].Data
	embedded := make([][]float64, len(ids))
	normed := make([][]float64, len(ids))
	for pos, id := range ids {
		embedded[pos] = make([]float64, width)
		for o := range embedded[pos] {
			embedded[pos][o] = float64(tokens[int(id)*width+o]) + float64(positions[pos*width+o])
		}
		normed[pos] = handLayerNorm(embedded[pos], w[p+"layer_norm1.weight"].Data, w[p+"layer_norm1.bias"].Data, eps)
	}
	for pos := range ids {
		assertClose(t, fmt.Sprintf("Hidden[0] pos %d", pos), tr.Hidden[0][pos*width:(pos+1)*width], embedded[pos], 1e-12)
		want := append([]float64(nil), embedded[pos]...)
		for s := 0; s <= pos; s++ {
			for o := range want {
				want[o] += normed[s][o] / float64(pos+1)
			}
		}
		mlpIn := handLayerNorm(want, w[p+"layer_norm2.weight"].Data, w[p+"layer_norm2.bias"].Data, eps)
		for o, v := range mlpIn {
			want[o] += v / (1 + math.Exp(-1.702*v)) // quick_gelu
		}
		assertClose(t, fmt.Sprintf("Hidden[1] pos %d", pos), tr.Hidden[1][pos*width:(pos+1)*width], want, 1e-12)
	}
	last := lastHiddenAt(tr, eotPos)
	pooled := handLayerNorm(last, w["text_model.final_layer_norm.weight"].Data, w["text_model.final_layer_norm.bias"].Data, eps)
	assertClose(t, "Pooled", tr.Pooled, pooled, 1e-12)
	assertClose(t, "Embeds", tr.Embeds, handProject(pooled, w["text_projection.weight"]), 1e-12)
}

func lastHiddenAt(tr *Trace, pos int) []float64 {
	last := tr.Hidden[len(tr.Hidden)-1]
	return last[pos*tr.Width : (pos+1)*tr.Width]
}

func TestTextRejectsBadInput(t *testing.T) {
	cfg, w := tinyModel(t)
	long := make([]int64, cfg.TextConfig.MaxPositionEmbeddings+1)
	cases := map[string][][]int64{
		"empty":        nil,
		"ragged":       {{1, 2, 3}, {1, 2}},
		"too long":     {long},
		"negative id":  {{1, -1}},
		"id too large": {{1, int64(cfg.TextConfig.VocabSize)}},
	}
	for name, ids := range cases {
		if _, err := Text(cfg, w, ids); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	delete(w, "text_projection.weight")
	if _, err := Text(cfg, w, [][]int64{prompt}); err == nil {
		t.Error("missing weight: no error")
	}
}
