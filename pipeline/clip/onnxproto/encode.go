package onnxproto

import (
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from onnx.proto.
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelDocString       = 6
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	opsetDomain  = 1
	opsetVersion = 2

	entryKey   = 1
	entryValue = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12
	graphValueInfo   = 13

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName    = 1
	attrF       = 2
	attrI       = 3
	attrS       = 4
	attrT       = 5
	attrFloats  = 7
	attrInts    = 8
	attrStrings = 9
	attrType    = 20

	tensorDims         = 1
	tensorDataType     = 2
	tensorName         = 8
	tensorRawData      = 9
	tensorExternalData = 13
	tensorDataLocation = 14

	dataLocationExternal = 1

	valueInfoName = 1
	valueInfoType = 2

	typeTensorType  = 1
	tensorTypeElem  = 1
	tensorTypeShape = 2
	shapeDim        = 1
	dimValue        = 1
	dimParam        = 2
)

// inlineCopyLimit is the size below which bytes are copied into the message
// buffer; larger ones are referenced in place and streamed when written.
const inlineCopyLimit = 4096

// encoder builds one protobuf message as a list of byte slices, so that
// tensor data is never copied into a single buffer: small fields accumulate
// in buf, big raw data is appended to parts by reference.
type encoder struct {
	parts [][]byte
	buf   []byte
	size  int64 // bytes in parts, not counting buf
}

func (e *encoder) len() int64 { return e.size + int64(len(e.buf)) }

func (e *encoder) flush() {
	if len(e.buf) > 0 {
		e.parts = append(e.parts, e.buf)
		e.size += int64(len(e.buf))
		e.buf = nil
	}
}

// chunks returns the message, ready to be written in order.
func (e *encoder) chunks() [][]byte {
	e.flush()
	return e.parts
}

func (e *encoder) varint(field protowire.Number, v uint64) {
	e.buf = protowire.AppendTag(e.buf, field, protowire.VarintType)
	e.buf = protowire.AppendVarint(e.buf, v)
}

func (e *encoder) int(field protowire.Number, v int64) { e.varint(field, uint64(v)) }

func (e *encoder) float(field protowire.Number, v float32) {
	e.buf = protowire.AppendTag(e.buf, field, protowire.Fixed32Type)
	e.buf = protowire.AppendFixed32(e.buf, math.Float32bits(v))
}

func (e *encoder) string(field protowire.Number, s string) {
	e.buf = protowire.AppendTag(e.buf, field, protowire.BytesType)
	e.buf = protowire.AppendString(e.buf, s)
}

// optString writes s only when it is set, like proto3 would.
func (e *encoder) optString(field protowire.Number, s string) {
	if s != "" {
		e.string(field, s)
	}
}

func (e *encoder) bytes(field protowire.Number, b []byte) {
	e.buf = protowire.AppendTag(e.buf, field, protowire.BytesType)
	e.buf = protowire.AppendVarint(e.buf, uint64(len(b)))
	if len(b) < inlineCopyLimit {
		e.buf = append(e.buf, b...)
		return
	}
	e.flush()
	e.parts = append(e.parts, b)
	e.size += int64(len(b))
}

func (e *encoder) message(field protowire.Number, m *encoder) {
	e.buf = protowire.AppendTag(e.buf, field, protowire.BytesType)
	e.buf = protowire.AppendVarint(e.buf, uint64(m.len()))
	if m.size == 0 { // small message: copy it in
		e.buf = append(e.buf, m.buf...)
		return
	}
	e.flush()
	m.flush()
	e.parts = append(e.parts, m.parts...)
	e.size += m.size
}

func (e *encoder) packedInts(field protowire.Number, vs []int64) {
	if len(vs) == 0 {
		return
	}
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, uint64(v))
	}
	e.buf = protowire.AppendTag(e.buf, field, protowire.BytesType)
	e.buf = protowire.AppendBytes(e.buf, p)
}

func (e *encoder) packedFloats(field protowire.Number, vs []float32) {
	if len(vs) == 0 {
		return
	}
	var p []byte
	for _, v := range vs {
		p = protowire.AppendFixed32(p, math.Float32bits(v))
	}
	e.buf = protowire.AppendTag(e.buf, field, protowire.BytesType)
	e.buf = protowire.AppendBytes(e.buf, p)
}

// placement says where each external initializer's bytes go; tensors not in
// it are written inline.
type placement map[*Tensor]ExternalData

func encodeModel(m *Model, ext placement) *encoder {
	e := &encoder{}
	e.int(modelIRVersion, m.IRVersion)
	e.optString(modelProducerName, m.ProducerName)
	e.optString(modelProducerVersion, m.ProducerVersion)
	e.optString(modelDocString, m.DocString)
	if m.Graph != nil {
		e.message(modelGraph, encodeGraph(m.Graph, ext))
	}
	for _, o := range m.Opsets {
		oe := &encoder{}
		oe.optString(opsetDomain, o.Domain)
		oe.int(opsetVersion, o.Version)
		e.message(modelOpsetImport, oe)
	}
	for _, kv := range m.Metadata {
		e.message(modelMetadataProps, encodeEntry(kv.Key, kv.Value))
	}
	return e
}

func encodeEntry(k, v string) *encoder {
	e := &encoder{}
	e.string(entryKey, k)
	e.string(entryValue, v)
	return e
}

func encodeGraph(g *Graph, ext placement) *encoder {
	e := &encoder{}
	for _, n := range g.Nodes {
		e.message(graphNode, encodeNode(n))
	}
	e.optString(graphName, g.Name)
	for _, t := range g.Initializers {
		loc, external := ext[t]
		if external {
			e.message(graphInitializer, encodeTensor(t, &loc))
		} else {
			e.message(graphInitializer, encodeTensor(t, nil))
		}
	}
	for _, v := range g.Inputs {
		e.message(graphInput, encodeValueInfo(v))
	}
	for _, v := range g.Outputs {
		e.message(graphOutput, encodeValueInfo(v))
	}
	for _, v := range g.ValueInfo {
		e.message(graphValueInfo, encodeValueInfo(v))
	}
	return e
}

func encodeNode(n *Node) *encoder {
	e := &encoder{}
	for _, in := range n.Inputs {
		e.string(nodeInput, in)
	}
	for _, out := range n.Outputs {
		e.string(nodeOutput, out)
	}
	e.optString(nodeName, n.Name)
	e.string(nodeOpType, n.OpType)
	for _, a := range n.Attributes {
		e.message(nodeAttribute, encodeAttribute(a))
	}
	e.optString(nodeDomain, n.Domain)
	return e
}

func encodeAttribute(a *Attribute) *encoder {
	e := &encoder{}
	e.string(attrName, a.Name)
	e.int(attrType, int64(a.Type))
	switch a.Type {
	case AttrFloat:
		e.float(attrF, a.F)
	case AttrInt:
		e.int(attrI, a.I)
	case AttrString:
		e.string(attrS, a.S)
	case AttrTensor:
		if a.T != nil {
			e.message(attrT, encodeTensor(a.T, nil))
		}
	case AttrFloats:
		e.packedFloats(attrFloats, a.Floats)
	case AttrInts:
		e.packedInts(attrInts, a.Ints)
	case AttrStrings:
		for _, s := range a.Strings {
			e.string(attrStrings, s)
		}
	}
	return e
}

// encodeTensor writes t with its data inline, or, when loc is set, with a
// reference to the external file instead.
func encodeTensor(t *Tensor, loc *ExternalData) *encoder {
	e := &encoder{}
	e.packedInts(tensorDims, t.Dims)
	e.int(tensorDataType, int64(t.DataType))
	e.optString(tensorName, t.Name)
	if loc == nil {
		e.bytes(tensorRawData, t.Raw)
		return e
	}
	e.message(tensorExternalData, encodeEntry("location", loc.Location))
	e.message(tensorExternalData, encodeEntry("offset", strconv.FormatInt(loc.Offset, 10)))
	e.message(tensorExternalData, encodeEntry("length", strconv.FormatInt(loc.Length, 10)))
	e.int(tensorDataLocation, dataLocationExternal)
	return e
}

func encodeValueInfo(v *ValueInfo) *encoder {
	tt := &encoder{}
	tt.int(tensorTypeElem, int64(v.ElemType))
	if v.Shape != nil {
		shape := &encoder{}
		for _, d := range v.Shape {
			de := &encoder{}
			if d.Param != "" {
				de.string(dimParam, d.Param)
			} else {
				de.int(dimValue, d.Value)
			}
			shape.message(shapeDim, de)
		}
		tt.message(tensorTypeShape, shape)
	}
	typ := &encoder{}
	typ.message(typeTensorType, tt)

	e := &encoder{}
	e.string(valueInfoName, v.Name)
	e.message(valueInfoType, typ)
	return e
}

// Encode serialises the model with every tensor inline. It fails for models
// over protobuf's 2 GiB limit; Save handles those.
func (m *Model) Encode() ([]byte, error) {
	e := encodeModel(m, nil)
	if e.len() > maxProtoSize {
		return nil, errTooLarge(e.len())
	}
	out := make([]byte, 0, e.len())
	for _, c := range e.chunks() {
		out = append(out, c...)
	}
	return out, nil
}
