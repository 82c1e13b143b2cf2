package onnxproto

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func sampleModel() *Model {
	big := make([]float32, 3000) // larger than inlineCopyLimit, so streamed by reference
	for i := range big {
		big[i] = float32(i) * 0.5
	}
	g := &Graph{
		Name: "sample",
		Inputs: []*ValueInfo{
			{Name: "x", ElemType: Float, Shape: []Dim{Symbolic("batch_size"), Fixed(3000)}},
			{Name: "ids", ElemType: Int64, Shape: []Dim{Symbolic("batch_size"), Symbolic("sequence_length")}},
		},
		Outputs: []*ValueInfo{{Name: "y", ElemType: Float, Shape: []Dim{Symbolic("batch_size"), Fixed(3000)}}},
		Initializers: []*Tensor{
			FloatTensor("big", []int{3000}, big),
			Float16Tensor("half", []int{2, 2}, []float32{1, -2, 0.5, 65504}),
			Int8Tensor("q", []int{3}, []int8{-127, 0, 127}),
			Int32Tensor("i32", []int{2}, []int32{-5, 1 << 30}),
			Int64Tensor("shape", []int{3}, []int64{0, 0, -1}),
			Int64Tensor("scalar", []int{}, []int64{42}),
		},
		Nodes: []*Node{
			{Name: "add", OpType: "Add", Inputs: []string{"x", "big"}, Outputs: []string{"y"}},
			{Name: "attrs", OpType: "Custom", Domain: DomainMicrosoft, Inputs: []string{"y", ""}, Outputs: []string{"z"},
				Attributes: []*Attribute{
					{Name: "f", Type: AttrFloat, F: 1.702},
					{Name: "i", Type: AttrInt, I: -3},
					{Name: "s", Type: AttrString, S: "hello"},
					{Name: "t", Type: AttrTensor, T: Int64Tensor("", []int{1}, []int64{7})},
					{Name: "fs", Type: AttrFloats, Floats: []float32{1, 2.5}},
					{Name: "is", Type: AttrInts, Ints: []int64{0, 2, -1}},
					{Name: "ss", Type: AttrStrings, Strings: []string{"a", "b"}},
				}},
		},
	}
	m := NewModel(g)
	m.ProducerVersion = "test"
	m.Metadata = []StringEntry{{"k", "v"}}
	return m
}

// normalise makes decoded and built models comparable: empty and nil byte
// slices mean the same in protobuf.
func normalise(m *Model) {
	fix := func(t *Tensor) {
		if len(t.Raw) == 0 {
			t.Raw = nil
		}
		if len(t.Dims) == 0 {
			t.Dims = nil
		}
	}
	for _, t := range m.Graph.Initializers {
		fix(t)
	}
	for _, n := range m.Graph.Nodes {
		for _, a := range n.Attributes {
			if a.T != nil {
				fix(a.T)
			}
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	want := sampleModel()
	data, err := want.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	normalise(want)
	normalise(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got.Graph, want.Graph)
	}
	if got.IRVersion != 8 || got.ProducerName != "linesight" {
		t.Errorf("header: ir %d producer %q", got.IRVersion, got.ProducerName)
	}
	wantOpsets := []OpsetID{{"", 17}, {"com.microsoft", 1}}
	if !reflect.DeepEqual(got.Opsets, wantOpsets) {
		t.Errorf("opsets %v, want %v", got.Opsets, wantOpsets)
	}
}

func TestDecodeRejectsTruncatedData(t *testing.T) {
	data, err := sampleModel().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data[:len(data)-7]); err == nil {
		t.Fatal("decoding a truncated model succeeded")
	}
}

func TestSaveInline(t *testing.T) {
	m := sampleModel()
	path := filepath.Join(t.TempDir(), "m.onnx")
	var last, total int64
	err := m.Save(path, SaveOptions{Progress: func(w, tot int64) {
		if w < last {
			t.Errorf("progress went back from %d to %d", last, w)
		}
		last, total = w, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("model file mode %v, want readable by all", info.Mode().Perm())
	}
	if last != info.Size() || total != info.Size() {
		t.Errorf("progress ended at %d of %d, file has %d bytes", last, total, info.Size())
	}
	if _, err := os.Stat(ExternalDataPath(path)); !os.IsNotExist(err) {
		t.Errorf("inline save left an external data file: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, enc) {
		t.Error("saved file differs from Encode")
	}
}

func TestSaveExternal(t *testing.T) {
	m := sampleModel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vision_model.onnx")
	var last, total int64
	err := m.Save(path, SaveOptions{ExternalAbove: 1, MinExternalBytes: 8, Progress: func(w, tot int64) { last, total = w, tot }})
	if err != nil {
		t.Fatal(err)
	}
	modelInfo, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	dataInfo, err := os.Stat(filepath.Join(dir, "vision_model.onnx_data"))
	if err != nil {
		t.Fatalf("external data file: %v", err)
	}
	if last != total || total != modelInfo.Size()+dataInfo.Size() {
		t.Errorf("progress %d of %d, files hold %d", last, total, modelInfo.Size()+dataInfo.Size())
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, tensor := range decoded.Graph.Initializers {
		orig := m.Graph.Initializer(tensor.Name)
		if len(orig.Raw) < 8 {
			if tensor.External != nil {
				t.Errorf("%s (%d bytes) went external below the minimum", tensor.Name, len(orig.Raw))
			}
			continue
		}
		if tensor.External == nil {
			t.Errorf("%s stayed inline", tensor.Name)
			continue
		}
		if tensor.External.Location != "vision_model.onnx_data" || tensor.External.Offset%4096 != 0 || tensor.External.Length != int64(len(orig.Raw)) {
			t.Errorf("%s: external %+v", tensor.Name, *tensor.External)
		}
		if len(tensor.Raw) != 0 {
			t.Errorf("%s carries raw data as well as an external reference", tensor.Name)
		}
	}

	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tensor := range loaded.Graph.Initializers {
		if !bytes.Equal(tensor.Raw, m.Graph.Initializer(tensor.Name).Raw) {
			t.Errorf("%s: loaded bytes differ from the saved ones", tensor.Name)
		}
	}

	// Saving the same path inline again must not leave the stale data file.
	if err := m.Save(path, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vision_model.onnx_data")); !os.IsNotExist(err) {
		t.Errorf("stale external data survived an inline save: %v", err)
	}
}

func TestLoadRejectsEscapingLocation(t *testing.T) {
	m := sampleModel()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := m.Save(path, SaveOptions{ExternalAbove: 1}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evil := bytes.ReplaceAll(raw, []byte("m.onnx_data"), []byte("../m.o_data"))
	if err := os.WriteFile(path, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), "leaves the model's directory") {
		t.Fatalf("Load of an escaping external location: %v", err)
	}
}

func TestFloat16KnownValues(t *testing.T) {
	// Bit patterns from the IEEE 754 binary16 definition.
	cases := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},                           // largest finite half
		{65520, 0x7c00},                           // rounds up to infinity
		{1e6, 0x7c00},                             // overflow
		{float32(math.Pow(2, -14)), 0x0400},       // smallest normal
		{float32(math.Pow(2, -24)), 0x0001},       // smallest subnormal
		{float32(math.Pow(2, -25)), 0x0000},       // exact tie below it rounds to even (zero)
		{float32(1.5 * math.Pow(2, -24)), 0x0002}, // tie rounds to even (2)
		{1 + 1.0/2048, 0x3c00},                    // tie between 1 and next: even is 1
		{1 + 3.0/2048, 0x3c02},                    // tie: rounds up to even
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := Float16Bits(c.in); got != c.want {
			t.Errorf("Float16Bits(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if h := Float16Bits(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN became %#04x", h)
	}
}

func TestFloat16RoundTripsEveryHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := Float16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := Float16Bits(f); back != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
}

func TestFloat16RoundsToNearest(t *testing.T) {
	// Every float32 between two neighbouring halves must map to the nearer one.
	for _, x := range []float32{0.1, 0.3333, 3.14159, 1234.567, -0.000123, 6.1e-5, 4e-7} {
		h := Float16Bits(x)
		got := float64(Float16ToFloat32(h))
		for _, n := range []uint16{h - 1, h + 1} {
			other := float64(Float16ToFloat32(n))
			if math.Abs(other-float64(x)) < math.Abs(got-float64(x)) {
				t.Errorf("%g -> %g, but %g is nearer", x, got, other)
			}
		}
	}
}

// Exporters built on proto2 C++ (PyTorch, onnx) write repeated numbers
// unpacked, one tag per value; the decoder must read that form as well.
func TestDecodeUnpackedRepeatedFields(t *testing.T) {
	var tensor []byte
	for _, d := range []uint64{2, 3} {
		tensor = protowire.AppendTag(tensor, tensorDims, protowire.VarintType)
		tensor = protowire.AppendVarint(tensor, d)
	}
	tensor = protowire.AppendTag(tensor, tensorDataType, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, uint64(Float))
	tensor = protowire.AppendTag(tensor, tensorName, protowire.BytesType)
	tensor = protowire.AppendString(tensor, "w")

	var attr []byte
	attr = protowire.AppendTag(attr, attrName, protowire.BytesType)
	attr = protowire.AppendString(attr, "perm")
	for _, v := range []int64{0, 2, 1} {
		attr = protowire.AppendTag(attr, attrInts, protowire.VarintType)
		attr = protowire.AppendVarint(attr, uint64(v))
	}
	for _, f := range []float32{0.5, -1} {
		attr = protowire.AppendTag(attr, attrFloats, protowire.Fixed32Type)
		attr = protowire.AppendFixed32(attr, math.Float32bits(f))
	}

	var node []byte
	node = protowire.AppendTag(node, nodeOpType, protowire.BytesType)
	node = protowire.AppendString(node, "Transpose")
	node = protowire.AppendTag(node, nodeAttribute, protowire.BytesType)
	node = protowire.AppendBytes(node, attr)

	var graph []byte
	graph = protowire.AppendTag(graph, graphNode, protowire.BytesType)
	graph = protowire.AppendBytes(graph, node)
	graph = protowire.AppendTag(graph, graphInitializer, protowire.BytesType)
	graph = protowire.AppendBytes(graph, tensor)
	// An unknown field must be skipped, not fail the decode.
	graph = protowire.AppendTag(graph, 99, protowire.VarintType)
	graph = protowire.AppendVarint(graph, 1)

	var model []byte
	model = protowire.AppendTag(model, modelGraph, protowire.BytesType)
	model = protowire.AppendBytes(model, graph)

	m, err := Decode(model)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Graph.Initializers[0].Dims; !reflect.DeepEqual(got, []int64{2, 3}) {
		t.Errorf("dims %v", got)
	}
	a := m.Graph.Nodes[0].Attributes[0]
	if !reflect.DeepEqual(a.Ints, []int64{0, 2, 1}) || !reflect.DeepEqual(a.Floats, []float32{0.5, -1}) {
		t.Errorf("attribute ints %v floats %v", a.Ints, a.Floats)
	}
}
