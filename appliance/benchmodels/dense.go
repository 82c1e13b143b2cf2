package benchmodels

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
)

// DenseCost is what the patch outputs (patch_tokens.<l>, patch_embeds: what
// anomaly maps are made from) add to a batch-1 run of the vision session.
//
// ONNX Runtime runs every node of a graph whatever outputs the caller
// fetches, so a session asked for image_embeds alone would cost the same:
// the comparison is against the variant's own model cut down to image_embeds
// and the nodes it needs (onnxproto.Graph.KeepOutputs), as a build without
// patch outputs would be. The two sessions are called alternately, one call
// each at a time, so a change of load on a shared machine hits both alike.
type DenseCost struct {
	Runs int `json:"runs"` // calls of each session
	// WithPatches and EmbedsOnly are the median batch-1 latencies of the
	// model as built (every output fetched) and of the cut-down one.
	WithPatches time.Duration `json:"with_patches_p50_ns"`
	EmbedsOnly  time.Duration `json:"embeds_only_p50_ns"`
	// Overhead is WithPatches / EmbedsOnly - 1: 0.05 is 5% slower.
	Overhead float64 `json:"overhead"`
	// The fastest call of each: on a loaded machine, where other work only
	// ever adds time, the closest to what each model costs.
	WithPatchesMin time.Duration `json:"with_patches_min_ns"`
	EmbedsOnlyMin  time.Duration `json:"embeds_only_min_ns"`
}

// hasPatchOutputs reports whether a vision session returns patch outputs.
func hasPatchOutputs(v *engine.Vision) bool {
	return len(v.PatchLayers()) > 0 || v.HasPatchEmbeds()
}

// measureDense times full (a session of the model file at path, with its
// patch outputs) against the same model cut down to image_embeds. The cut
// model is written to a temporary folder and removed afterwards.
func measureDense(ctx context.Context, full *engine.Vision, path string, opts engine.SessionOptions, d time.Duration, minRuns int) (*DenseCost, error) {
	m, err := onnxproto.Load(path)
	if err != nil {
		return nil, fmt.Errorf("dense cost: %w", err)
	}
	if err := m.Graph.KeepOutputs(graph.OutputImageEmbeds); err != nil {
		return nil, fmt.Errorf("dense cost: %s: %w", path, err)
	}
	tmp, err := os.MkdirTemp("", "linesight-embeds-only-")
	if err != nil {
		return nil, fmt.Errorf("dense cost: %w", err)
	}
	defer os.RemoveAll(tmp)
	cut := filepath.Join(tmp, filepath.Base(path))
	if err := m.Save(cut, onnxproto.SaveOptions{}); err != nil {
		return nil, fmt.Errorf("dense cost: %w", err)
	}
	m = nil // the weights are in the file now; let the collector have them
	bare, err := engine.OpenVision(cut, opts)
	if err != nil {
		return nil, fmt.Errorf("dense cost: %w", err)
	}
	defer bare.Close()
	if hasPatchOutputs(bare) {
		return nil, fmt.Errorf("dense cost: the cut-down model still has patch outputs")
	}

	h, w := full.InputSize()
	pixels := make([]float32, 3*h*w)
	rng := rand.New(rand.NewPCG(1, 7))
	for i := range pixels {
		pixels[i] = float32(rng.NormFloat64())
	}
	sessions := []*engine.Vision{full, bare}
	for _, s := range sessions { // untimed: the first run plans memory
		if _, err := s.Embed(pixels, 1); err != nil {
			return nil, err
		}
	}
	lat := make([][]time.Duration, 2)
	var total time.Duration
	for len(lat[0]) < max(minRuns, 1) || total < d {
		for i, s := range sessions {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t0 := time.Now()
			if _, err := s.Embed(pixels, 1); err != nil {
				return nil, err
			}
			dt := time.Since(t0)
			lat[i] = append(lat[i], dt)
			if i == 0 {
				total += dt
			}
		}
	}
	c := &DenseCost{Runs: len(lat[0]), WithPatches: Percentile(lat[0], 0.5), EmbedsOnly: Percentile(lat[1], 0.5),
		WithPatchesMin: slices.Min(lat[0]), EmbedsOnlyMin: slices.Min(lat[1])}
	if c.EmbedsOnly > 0 {
		c.Overhead = float64(c.WithPatches)/float64(c.EmbedsOnly) - 1
	}
	return c, nil
}
