package benchmodels

import "github.com/linesight/linesight/pipeline/clip/arch"

// VisionFLOPs is the floating-point work of the image tower for one image,
// counting a multiply-add as two FLOPs and only the matrix products, the
// convention of the ViT and CLIP papers (LayerNorm, softmax, GELU and the
// residual adds are O(S·D) each, well under 1% of the total):
//
//	N = (image/patch)²            patches
//	S = N + 1                     tokens (with the class token)
//	patch embedding   2·N·(C·patch²)·D
//	per layer         8·S·D²      q, k, v and output projections (4 of D×D)
//	                + 4·S²·D      Q·Kᵀ and P·V over all heads
//	                + 4·S·D·F     the two MLP layers (D×F and F×D)
//	projection        2·D·P
//
// ViT-L/14 at 224 px gives 162 GFLOP, ViT-B/32 8.8 GFLOP. LineSight's graph
// computes only the class token in the last layer, which saves about
// 1/layers of this; the figure is the model's, so that rates compare with
// other runtimes.
func VisionFLOPs(cfg arch.Config) float64 {
	v := cfg.VisionConfig
	side := v.ImageSize / v.PatchSize
	n := float64(side * side)
	s := n + 1
	d := float64(v.HiddenSize)
	f := float64(v.IntermediateSize)
	patch := 2 * n * float64(v.NumChannels*v.PatchSize*v.PatchSize) * d
	layer := 8*s*d*d + 4*s*s*d + 4*s*d*f
	proj := 2 * d * float64(cfg.ProjectionDim)
	return patch + float64(v.NumHiddenLayers)*layer + proj
}
