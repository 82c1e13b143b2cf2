// Package prune makes a CLIP vision tower smaller by structure: it drops the
// least important hidden units of every MLP and the least important
// attention heads of every layer (docs/distill.md#pruning). The pruned
// tower is a plain CLIP tower with a smaller intermediate size and fewer
// heads of the same width (vision_config.head_dim), which the graph builder
// and every runtime take as they are; distillation from the unpruned model
// then recovers what the cut cost.
package prune

import (
	"fmt"
	"math"
	"sort"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// MLP keeps, in every layer of the tower, the intermediate units with the
// largest importance, the same number in each layer (a CLIP config has one
// intermediate size): round(size x (1-ratio)), at least one. A unit's
// importance is the product of the norms of its input row (fc1) and its
// output column (fc2): a unit that reads little or writes little matters
// little. Kept units keep their order; every other weight is shared.
func MLP(cfg arch.Config, w arch.Weights, tower arch.Tower, ratio float64) (arch.Config, arch.Weights, error) {
	if !(ratio > 0 && ratio < 1) {
		return arch.Config{}, nil, fmt.Errorf("prune: ratio %g: give a share above 0 and below 1", ratio)
	}
	if err := w.Check(cfg, tower); err != nil {
		return arch.Config{}, nil, fmt.Errorf("prune: %w", err)
	}
	prefix, inter, layers := "text_model", &cfg.TextConfig.IntermediateSize, cfg.TextConfig.NumHiddenLayers
	if tower == arch.Vision {
		prefix, inter, layers = "vision_model", &cfg.VisionConfig.IntermediateSize, cfg.VisionConfig.NumHiddenLayers
	}
	size := *inter
	keep := max(1, int(math.Round(float64(size)*(1-ratio))))
	out := arch.Weights{}
	for k, v := range w {
		out[k] = v
	}
	for l := range layers {
		p := fmt.Sprintf("%s.encoder.layers.%d.mlp.", prefix, l)
		fc1w, fc1b, fc2w := w[p+"fc1.weight"], w[p+"fc1.bias"], w[p+"fc2.weight"]
		width := fc1w.Shape[1]
		units := Importance(fc1w, fc2w)
		order := make([]int, size)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return units[order[a]] > units[order[b]] })
		kept := order[:keep]
		sort.Ints(kept)
		nw1 := make([]float32, 0, keep*width)
		nb1 := make([]float32, 0, keep)
		nw2 := make([]float32, keep*width)
		for j, u := range kept {
			nw1 = append(nw1, fc1w.Data[u*width:(u+1)*width]...)
			nb1 = append(nb1, fc1b.Data[u])
			for r := range width {
				nw2[r*keep+j] = fc2w.Data[r*size+u]
			}
		}
		out[p+"fc1.weight"] = &arch.Tensor{Shape: []int{keep, width}, Data: nw1}
		out[p+"fc1.bias"] = &arch.Tensor{Shape: []int{keep}, Data: nb1}
		out[p+"fc2.weight"] = &arch.Tensor{Shape: []int{width, keep}, Data: nw2}
	}
	*inter = keep
	if err := out.Check(cfg, tower); err != nil {
		return arch.Config{}, nil, fmt.Errorf("prune: %w", err)
	}
	return cfg, out, nil
}

// Importance is each hidden unit's |fc1 row| x |fc2 column|, for fc1
// weight [units, width] and fc2 weight [width, units].
func Importance(fc1, fc2 *arch.Tensor) []float64 {
	units, width := fc1.Shape[0], fc1.Shape[1]
	out := make([]float64, units)
	for u := range units {
		var in, outN float64
		for _, v := range fc1.Data[u*width : (u+1)*width] {
			in += float64(v) * float64(v)
		}
		for r := range width {
			v := float64(fc2.Data[r*units+u])
			outN += v * v
		}
		out[u] = math.Sqrt(in) * math.Sqrt(outN)
	}
	return out
}

// Heads keeps, in every layer of the vision tower, the attention heads with
// the largest importance, the same number in each layer (a CLIP config has
// one head count): round(heads x (1-ratio)), at least one; each keeps its
// width, so the config records head_dim. A head's importance is the product
// of the norms of its value rows (v_proj) and its output columns (out_proj):
// what it can write into the residual stream; a head whose output columns
// are zero changes nothing, whatever it attends to. Kept heads keep their
// order; every other weight is shared.
func Heads(cfg arch.Config, w arch.Weights, ratio float64) (arch.Config, arch.Weights, error) {
	if !(ratio > 0 && ratio < 1) {
		return arch.Config{}, nil, fmt.Errorf("prune heads: ratio %g: give a share above 0 and below 1", ratio)
	}
	if err := w.Check(cfg, arch.Vision); err != nil {
		return arch.Config{}, nil, fmt.Errorf("prune heads: %w", err)
	}
	vc := &cfg.VisionConfig
	heads, dim, width := vc.NumAttentionHeads, vc.HeadSize(), vc.HiddenSize
	keep := max(1, int(math.Round(float64(heads)*(1-ratio))))
	attn := heads * dim
	out := arch.Weights{}
	for k, v := range w {
		out[k] = v
	}
	for l := range vc.NumHiddenLayers {
		p := fmt.Sprintf("vision_model.encoder.layers.%d.self_attn.", l)
		vw, ow := w[p+"v_proj.weight"], w[p+"out_proj.weight"]
		importance := make([]float64, heads)
		for h := range heads {
			var in, outN float64
			for _, x := range vw.Data[h*dim*width : (h+1)*dim*width] {
				in += float64(x) * float64(x)
			}
			for r := range width {
				for _, x := range ow.Data[r*attn+h*dim : r*attn+(h+1)*dim] {
					outN += float64(x) * float64(x)
				}
			}
			importance[h] = math.Sqrt(in) * math.Sqrt(outN)
		}
		order := make([]int, heads)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return importance[order[a]] > importance[order[b]] })
		kept := order[:keep]
		sort.Ints(kept)
		for _, proj := range []string{"q_proj", "k_proj", "v_proj"} {
			pw, pb := w[p+proj+".weight"], w[p+proj+".bias"]
			nw := make([]float32, 0, keep*dim*width)
			nb := make([]float32, 0, keep*dim)
			for _, h := range kept {
				nw = append(nw, pw.Data[h*dim*width:(h+1)*dim*width]...)
				nb = append(nb, pb.Data[h*dim:(h+1)*dim]...)
			}
			out[p+proj+".weight"] = &arch.Tensor{Shape: []int{keep * dim, width}, Data: nw}
			out[p+proj+".bias"] = &arch.Tensor{Shape: []int{keep * dim}, Data: nb}
		}
		nw := make([]float32, 0, width*keep*dim)
		for r := range width {
			for _, h := range kept {
				nw = append(nw, ow.Data[r*attn+h*dim:r*attn+(h+1)*dim]...)
			}
		}
		out[p+"out_proj.weight"] = &arch.Tensor{Shape: []int{width, keep * dim}, Data: nw}
	}
	vc.NumAttentionHeads, vc.HeadDim = keep, dim
	if err := out.Check(cfg, arch.Vision); err != nil {
		return arch.Config{}, nil, fmt.Errorf("prune heads: %w", err)
	}
	return cfg, out, nil
}
