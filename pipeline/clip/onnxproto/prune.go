package onnxproto

import "fmt"

// KeepOutputs cuts the graph down to the named outputs and the nodes,
// initializers and value infos they need, as a model exported without the
// others would be. ONNX Runtime runs every node of a graph whatever outputs
// a caller fetches, so this is how to measure what the others cost.
func (g *Graph) KeepOutputs(names ...string) error {
	producer := map[string]*Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	needed := map[string]bool{}
	var visit func(string)
	visit = func(v string) {
		if v == "" || needed[v] {
			return
		}
		needed[v] = true
		if n := producer[v]; n != nil {
			for _, o := range n.Outputs { // the node runs whole
				needed[o] = true
			}
			for _, in := range n.Inputs {
				visit(in)
			}
		}
	}
	var outs []*ValueInfo
	for _, name := range names {
		found := false
		for _, o := range g.Outputs {
			if o.Name == name {
				outs, found = append(outs, o), true
				break
			}
		}
		if !found {
			return fmt.Errorf("keep outputs: the graph has no output %q", name)
		}
		visit(name)
	}
	var nodes []*Node
	for _, n := range g.Nodes {
		if len(n.Outputs) > 0 && needed[n.Outputs[0]] {
			nodes = append(nodes, n)
		}
	}
	var inits []*Tensor
	for _, t := range g.Initializers {
		if needed[t.Name] {
			inits = append(inits, t)
		}
	}
	var infos []*ValueInfo
	for _, v := range g.ValueInfo {
		if needed[v.Name] {
			infos = append(infos, v)
		}
	}
	g.Nodes, g.Initializers, g.Outputs, g.ValueInfo = nodes, inits, outs, infos
	return nil
}
