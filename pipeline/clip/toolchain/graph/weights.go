package graph

import (
	"fmt"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
)

// ReadWeights takes a tower's Hugging Face weights back out of an fp32 or
// fp16 graph Build made: each parameter is an initializer under its own
// name, or its transpose under name+".T" (linear layers). It is how a
// bundle's model becomes weights again, to prune or to start a student
// from, when only the bundle is at hand.
func ReadWeights(m *onnxproto.Model, cfg arch.Config, tower arch.Tower) (arch.Weights, error) {
	want := map[string][]int{}
	for _, p := range cfg.Params(tower) {
		want[p.Name] = p.Shape
	}
	w := arch.Weights{}
	for _, t := range m.Graph.Initializers {
		if t.DataType != onnxproto.Float && t.DataType != onnxproto.Float16 {
			continue
		}
		name, transposed := strings.CutSuffix(t.Name, ".T")
		shape, ok := want[name]
		if !ok {
			continue
		}
		data := t.Floats()
		if transposed {
			if len(shape) != 2 {
				return nil, fmt.Errorf("read weights: %s is stored transposed but is not a matrix", name)
			}
			data = transpose(data, shape[1], shape[0])
		}
		if len(data) != arch.NumElements(shape) {
			return nil, fmt.Errorf("read weights: %s has %d values, want %v", name, len(data), shape)
		}
		w[name] = &arch.Tensor{Shape: shape, Data: data}
	}
	if err := w.Check(cfg, tower); err != nil {
		return nil, fmt.Errorf("read weights (a quantised model keeps no float weights: use fp32): %w", err)
	}
	return w, nil
}
