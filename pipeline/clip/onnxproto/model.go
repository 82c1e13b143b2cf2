// Package onnxproto holds the subset of the ONNX protobuf schema (onnx.proto)
// that LineSight writes: a model with one graph of nodes, attributes,
// initializers and typed inputs and outputs. It encodes by hand with protowire
// so that no generated code is needed, streams large tensors straight from
// their slices to disk, and moves initializers into an external data file when
// a model would not fit protobuf's 2 GiB limit. It reads its own models back
// (Load) for `bench models` and the tests.
package onnxproto

// Constants of the format this package writes.
const (
	// IRVersion 8 is understood by every ONNX Runtime since 1.10 and allows opset 17.
	IRVersion       = 8
	ProducerName    = "linesight"
	DomainONNX      = ""              // ai.onnx, the default domain
	DomainMicrosoft = "com.microsoft" // ONNX Runtime's contrib operators
)

// DataType is TensorProto.DataType.
type DataType int32

// The element types used by the graphs this package writes.
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Int32     DataType = 6
	Int64     DataType = 7
	Bool      DataType = 9
	Float16   DataType = 10
	Double    DataType = 11
)

// Size is the number of bytes one element takes in raw_data.
func (d DataType) Size() int {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Float16:
		return 2
	case Float, Int32:
		return 4
	case Int64, Double:
		return 8
	}
	return 0
}

func (d DataType) String() string {
	switch d {
	case Float:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case Double:
		return "float64"
	}
	return "undefined"
}

// Model is ModelProto.
type Model struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	DocString       string
	Opsets          []OpsetID
	Graph           *Graph
	Metadata        []StringEntry
}

// OpsetID is OperatorSetIdProto: an operator domain and its version.
type OpsetID struct {
	Domain  string
	Version int64
}

// StringEntry is StringStringEntryProto.
type StringEntry struct {
	Key, Value string
}

// Graph is GraphProto. Nodes must be in topological order.
type Graph struct {
	Name         string
	Nodes        []*Node
	Initializers []*Tensor
	Inputs       []*ValueInfo
	Outputs      []*ValueInfo
	ValueInfo    []*ValueInfo
}

// Node is NodeProto.
type Node struct {
	Name       string
	OpType     string
	Domain     string
	Inputs     []string
	Outputs    []string
	Attributes []*Attribute
}

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// The attribute kinds this package encodes.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Attribute is AttributeProto; Type says which value field is meant.
type Attribute struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Tensor is TensorProto with its data always in raw_data (little-endian), or,
// in a model the tests decode, a reference to an external file.
type Tensor struct {
	Name     string
	DataType DataType
	Dims     []int64
	Raw      []byte
	// External is set on tensors the tests' decoder read from a model whose
	// data lives in another file (its Load fills Raw as well); the encoder
	// ignores it.
	External *ExternalData
}

// ExternalData locates a tensor's bytes in a file next to the model.
type ExternalData struct {
	Location string // relative to the model's directory
	Offset   int64
	Length   int64
}

// ValueInfo is ValueInfoProto for a tensor: name, element type and shape.
// A nil Shape means the rank is unknown.
type ValueInfo struct {
	Name     string
	ElemType DataType
	Shape    []Dim
}

// Dim is one dimension: a fixed size, or a symbolic name such as "batch_size".
type Dim struct {
	Value int64
	Param string
}

// Fixed and Symbolic make dimensions.
func Fixed(n int) Dim          { return Dim{Value: int64(n)} }
func Symbolic(name string) Dim { return Dim{Param: name} }

// NewModel makes a model with LineSight's defaults: IR 8, ai.onnx opset 17 and
// com.microsoft opset 1.
func NewModel(g *Graph) *Model {
	return &Model{
		IRVersion:    IRVersion,
		ProducerName: ProducerName,
		Opsets:       []OpsetID{{DomainONNX, 17}, {DomainMicrosoft, 1}},
		Graph:        g,
	}
}

// Initializer finds an initializer by name, or returns nil.
func (g *Graph) Initializer(name string) *Tensor {
	for _, t := range g.Initializers {
		if t.Name == name {
			return t
		}
	}
	return nil
}
