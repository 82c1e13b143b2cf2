package onnxproto

import (
	"slices"
	"strings"
	"testing"
)

func TestKeepOutputsDropsWhatOnlyOtherOutputsNeed(t *testing.T) {
	// x -> A(w1) -> a -> B -> out1
	//             a -> C(w2) -> c -> out2 ; D(w3) -> d -> out2 path too
	g := &Graph{
		Inputs: []*ValueInfo{{Name: "x"}},
		Nodes: []*Node{
			{Name: "A", Inputs: []string{"x", "w1"}, Outputs: []string{"a"}},
			{Name: "B", Inputs: []string{"a"}, Outputs: []string{"out1"}},
			{Name: "C", Inputs: []string{"a", "w2"}, Outputs: []string{"c"}},
			{Name: "D", Inputs: []string{"c", "w3"}, Outputs: []string{"out2"}},
		},
		Initializers: []*Tensor{{Name: "w1"}, {Name: "w2"}, {Name: "w3"}},
		Outputs:      []*ValueInfo{{Name: "out1"}, {Name: "out2"}},
		ValueInfo:    []*ValueInfo{{Name: "a"}, {Name: "c"}},
	}
	if err := g.KeepOutputs("out1"); err != nil {
		t.Fatal(err)
	}
	var nodes, inits, outs, infos []string
	for _, n := range g.Nodes {
		nodes = append(nodes, n.Name)
	}
	for _, x := range g.Initializers {
		inits = append(inits, x.Name)
	}
	for _, x := range g.Outputs {
		outs = append(outs, x.Name)
	}
	for _, x := range g.ValueInfo {
		infos = append(infos, x.Name)
	}
	if !slices.Equal(nodes, []string{"A", "B"}) || !slices.Equal(inits, []string{"w1"}) ||
		!slices.Equal(outs, []string{"out1"}) || !slices.Equal(infos, []string{"a"}) {
		t.Errorf("kept nodes %v, initializers %v, outputs %v, value infos %v", nodes, inits, outs, infos)
	}
	if err := g.KeepOutputs("out2"); err == nil || !strings.Contains(err.Error(), `no output "out2"`) {
		t.Errorf("keeping a missing output: %v", err)
	}
}
