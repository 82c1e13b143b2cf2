package onnxproto

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// The decoder reads back what the encoder wrote: `bench models` cuts a
// built model down to its image embedding with it (Graph.KeepOutputs), and
// the tests check what the builder wrote. The appliance itself only writes
// models; ONNX Runtime reads them.

// Decode parses a serialised ModelProto: the fields this package writes,
// skipping the rest. Raw tensor data aliases data.
func Decode(data []byte) (*Model, error) {
	m := &Model{}
	err := walk(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case modelIRVersion:
			m.IRVersion = int64(v)
		case modelProducerName:
			m.ProducerName = string(b)
		case modelProducerVersion:
			m.ProducerVersion = string(b)
		case modelDocString:
			m.DocString = string(b)
		case modelGraph:
			g, err := decodeGraph(b)
			if err != nil {
				return fmt.Errorf("graph: %w", err)
			}
			m.Graph = g
		case modelOpsetImport:
			var o OpsetID
			err := walk(b, func(num protowire.Number, _ protowire.Type, v uint64, b []byte) error {
				switch num {
				case opsetDomain:
					o.Domain = string(b)
				case opsetVersion:
					o.Version = int64(v)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			m.Opsets = append(m.Opsets, o)
		case modelMetadataProps:
			k, val, err := decodeEntry(b)
			if err != nil {
				return fmt.Errorf("metadata_props: %w", err)
			}
			m.Metadata = append(m.Metadata, StringEntry{k, val})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode ONNX model: %w", err)
	}
	return m, nil
}

// Load reads a model file and the external data its initializers refer to.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load ONNX model: %w", err)
	}
	m, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Graph == nil {
		return m, nil
	}
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, t := range m.Graph.Initializers {
		if t.External == nil {
			continue
		}
		loc := t.External
		f, ok := files[loc.Location]
		if !ok {
			if filepath.IsAbs(loc.Location) || !filepath.IsLocal(loc.Location) {
				return nil, fmt.Errorf("%s: tensor %q: external location %q leaves the model's directory", path, t.Name, loc.Location)
			}
			f, err = os.Open(filepath.Join(filepath.Dir(path), loc.Location))
			if err != nil {
				return nil, fmt.Errorf("%s: tensor %q: %w", path, t.Name, err)
			}
			files[loc.Location] = f
		}
		t.Raw = make([]byte, loc.Length)
		if _, err := f.ReadAt(t.Raw, loc.Offset); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%s: read external data of %q: %w", path, t.Name, err)
		}
	}
	return m, nil
}

// walk calls fn for each field of a message: v holds varint and fixed
// values, b the bytes of length-delimited ones.
func walk(data []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		var v uint64
		var b []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(data)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(data)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(data)
		case protowire.BytesType:
			b, n = protowire.ConsumeBytes(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		data = data[n:]
		if err := fn(num, typ, v, b); err != nil {
			return err
		}
	}
	return nil
}

func decodeEntry(data []byte) (key, value string, err error) {
	err = walk(data, func(num protowire.Number, _ protowire.Type, _ uint64, b []byte) error {
		switch num {
		case entryKey:
			key = string(b)
		case entryValue:
			value = string(b)
		}
		return nil
	})
	return key, value, err
}

func decodeGraph(data []byte) (*Graph, error) {
	g := &Graph{}
	err := walk(data, func(num protowire.Number, _ protowire.Type, _ uint64, b []byte) error {
		switch num {
		case graphNode:
			n, err := decodeNode(b)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case graphName:
			g.Name = string(b)
		case graphInitializer:
			t, err := decodeTensor(b)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
		case graphInput, graphOutput, graphValueInfo:
			v, err := decodeValueInfo(b)
			if err != nil {
				return fmt.Errorf("value info: %w", err)
			}
			switch num {
			case graphInput:
				g.Inputs = append(g.Inputs, v)
			case graphOutput:
				g.Outputs = append(g.Outputs, v)
			default:
				g.ValueInfo = append(g.ValueInfo, v)
			}
		}
		return nil
	})
	return g, err
}

func decodeNode(data []byte) (*Node, error) {
	n := &Node{}
	err := walk(data, func(num protowire.Number, _ protowire.Type, _ uint64, b []byte) error {
		switch num {
		case nodeInput:
			n.Inputs = append(n.Inputs, string(b))
		case nodeOutput:
			n.Outputs = append(n.Outputs, string(b))
		case nodeName:
			n.Name = string(b)
		case nodeOpType:
			n.OpType = string(b)
		case nodeDomain:
			n.Domain = string(b)
		case nodeAttribute:
			a, err := decodeAttribute(b)
			if err != nil {
				return fmt.Errorf("attribute: %w", err)
			}
			n.Attributes = append(n.Attributes, a)
		}
		return nil
	})
	return n, err
}

func decodeAttribute(data []byte) (*Attribute, error) {
	a := &Attribute{}
	err := walk(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case attrName:
			a.Name = string(b)
		case attrType:
			a.Type = AttrType(v)
		case attrF:
			a.F = math.Float32frombits(uint32(v))
		case attrI:
			a.I = int64(v)
		case attrS:
			a.S = string(b)
		case attrT:
			t, err := decodeTensor(b)
			if err != nil {
				return err
			}
			a.T = t
		case attrFloats:
			fs, err := repeatedFloats(typ, v, b)
			if err != nil {
				return err
			}
			a.Floats = append(a.Floats, fs...)
		case attrInts:
			is, err := repeatedInts(typ, v, b)
			if err != nil {
				return err
			}
			a.Ints = append(a.Ints, is...)
		case attrStrings:
			a.Strings = append(a.Strings, string(b))
		}
		return nil
	})
	return a, err
}

// repeatedInts reads a packed or unpacked repeated int64 field.
func repeatedInts(typ protowire.Type, v uint64, b []byte) ([]int64, error) {
	if typ == protowire.VarintType {
		return []int64{int64(v)}, nil
	}
	var out []int64
	for len(b) > 0 {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		out = append(out, int64(x))
		b = b[n:]
	}
	return out, nil
}

// repeatedFloats reads a packed or unpacked repeated float field.
func repeatedFloats(typ protowire.Type, v uint64, b []byte) ([]float32, error) {
	if typ == protowire.Fixed32Type {
		return []float32{math.Float32frombits(uint32(v))}, nil
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("packed floats of %d bytes", len(b))
	}
	out := make([]float32, 0, len(b)/4)
	for len(b) > 0 {
		x, _ := protowire.ConsumeFixed32(b)
		out = append(out, math.Float32frombits(x))
		b = b[4:]
	}
	return out, nil
}

func decodeTensor(data []byte) (*Tensor, error) {
	t := &Tensor{}
	var entries []StringEntry
	external := false
	err := walk(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case tensorDims:
			ds, err := repeatedInts(typ, v, b)
			if err != nil {
				return err
			}
			t.Dims = append(t.Dims, ds...)
		case tensorDataType:
			t.DataType = DataType(v)
		case tensorName:
			t.Name = string(b)
		case tensorRawData:
			t.Raw = b
		case tensorExternalData:
			k, val, err := decodeEntry(b)
			if err != nil {
				return err
			}
			entries = append(entries, StringEntry{k, val})
		case tensorDataLocation:
			external = v == dataLocationExternal
		}
		return nil
	})
	if err != nil || !external {
		return t, err
	}
	loc := &ExternalData{Length: -1}
	for _, e := range entries {
		switch e.Key {
		case "location":
			loc.Location = e.Value
		case "offset", "length":
			n, err := strconv.ParseInt(e.Value, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("tensor %q: bad external %s %q", t.Name, e.Key, e.Value)
			}
			if e.Key == "offset" {
				loc.Offset = n
			} else {
				loc.Length = n
			}
		}
	}
	if loc.Location == "" {
		return nil, fmt.Errorf("tensor %q: external data without a location", t.Name)
	}
	if loc.Length < 0 {
		loc.Length = t.NumElements() * int64(t.DataType.Size())
	}
	t.External = loc
	return t, nil
}

func decodeValueInfo(data []byte) (*ValueInfo, error) {
	v := &ValueInfo{}
	err := walk(data, func(num protowire.Number, _ protowire.Type, _ uint64, b []byte) error {
		switch num {
		case valueInfoName:
			v.Name = string(b)
		case valueInfoType:
			return walk(b, func(num protowire.Number, _ protowire.Type, _ uint64, b []byte) error {
				if num != typeTensorType {
					return nil
				}
				return walk(b, func(num protowire.Number, _ protowire.Type, x uint64, b []byte) error {
					switch num {
					case tensorTypeElem:
						v.ElemType = DataType(x)
					case tensorTypeShape:
						v.Shape = []Dim{}
						return walk(b, func(num protowire.Number, _ protowire.Type, _ uint64, b []byte) error {
							if num != shapeDim {
								return nil
							}
							var d Dim
							err := walk(b, func(num protowire.Number, _ protowire.Type, x uint64, b []byte) error {
								switch num {
								case dimValue:
									d.Value = int64(x)
								case dimParam:
									d.Param = string(b)
								}
								return nil
							})
							v.Shape = append(v.Shape, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return v, err
}
