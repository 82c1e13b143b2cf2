package safetensors

import (
	"bytes"
	"encoding/binary"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
)

func randomTensors(seed uint64) map[string]*arch.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0))
	shapes := map[string][]int{
		"scalar":          {},
		"vector":          {5},
		"layer.0.weight":  {3, 4},
		"patch.weight":    {2, 3, 2, 2},
		"empty.dimension": {0, 4},
	}
	out := map[string]*arch.Tensor{}
	for name, shape := range shapes {
		data := make([]float32, arch.NumElements(shape))
		for i := range data {
			data[i] = float32(rng.NormFloat64() * 3)
		}
		out[name] = &arch.Tensor{Shape: shape, Data: data}
	}
	return out
}

func TestWriteReadF32Exact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	tensors := randomTensors(1)
	meta := map[string]string{"format": "pt", "note": "round trip"}
	if err := Write(path, tensors, F32, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the file", f)
	if !maps.Equal(f.Metadata(), meta) {
		t.Errorf("metadata %v, want %v", f.Metadata(), meta)
	}
	if got, want := f.Names(), sortedKeys(tensors); !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	for name, want := range tensors {
		got, err := f.Tensor(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %v %v, want %v %v", name, got.Shape, got.Data, want.Shape, want.Data)
		}
	}
}

// The bytes of a small file, derived from the format's definition.
func TestWriteLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	tensors := map[string]*arch.Tensor{
		"b": {Shape: []int{2}, Data: []float32{1, -2}},
		"a": {Shape: []int{}, Data: []float32{0.5}},
	}
	if err := Write(path, tensors, F32, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	header := raw[8 : 8+n]
	trimmed := bytes.TrimRight(header, " ")
	if len(header)-len(trimmed) >= 8 {
		t.Errorf("%d bytes of padding", len(header)-len(trimmed))
	}
	want := `{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	if string(trimmed) != want {
		t.Errorf("header\n%s\nwant\n%s", trimmed, want)
	}
	// 0.5 = 0x3f000000, 1 = 0x3f800000, -2 = 0xc0000000, little-endian.
	if data := raw[8+n:]; !bytes.Equal(data, le32(0x3f000000, 0x3f800000, 0xc0000000)) {
		t.Errorf("data % x", data)
	}

	// The same input gives the same bytes.
	again := filepath.Join(t.TempDir(), "again.safetensors")
	if err := Write(again, tensors, F32, nil); err != nil {
		t.Fatal(err)
	}
	if raw2, err := os.ReadFile(again); err != nil {
		t.Fatal(err)
	} else if !bytes.Equal(raw, raw2) {
		t.Error("writing twice gave different bytes")
	}
}

func TestWriteReadHalfPrecision(t *testing.T) {
	cases := []struct {
		dtype    string
		relError float64 // half an ulp: 2^-11 for F16's 10-bit mantissa, 2^-8 for BF16's 7
	}{
		{F16, math.Ldexp(1, -11)},
		{BF16, math.Ldexp(1, -8)},
	}
	exact := []float32{0, 1, -2, 0.5, -3.25, 1024, 0.15625}
	for _, c := range cases {
		t.Run(c.dtype, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			tensors := randomTensors(2)
			tensors["exact"] = &arch.Tensor{Shape: []int{len(exact)}, Data: exact}
			if err := Write(path, tensors, c.dtype, nil); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got["exact"].Data, exact) {
				t.Errorf("representable values changed: %v", got["exact"].Data)
			}
			for name, want := range tensors {
				for i, w := range want.Data {
					g := got[name].Data[i]
					if math.Abs(float64(g-w)) > c.relError*math.Abs(float64(w)) {
						t.Fatalf("%s[%d] = %g, want %g within %g relative", name, i, g, w, c.relError)
					}
				}
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer testenv.Close(t, "the file", f)
			if info, _ := f.Info("vector"); info.DType != c.dtype || info.Size != 10 {
				t.Errorf("vector stored as %s, %d bytes", info.DType, info.Size)
			}
		})
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		tensors map[string]*arch.Tensor
		dtype   string
	}{
		"dtype":        {map[string]*arch.Tensor{"a": {Shape: []int{1}, Data: []float32{1}}}, "I64"},
		"shape":        {map[string]*arch.Tensor{"a": {Shape: []int{2}, Data: []float32{1}}}, F32},
		"metadata key": {map[string]*arch.Tensor{"__metadata__": {Shape: []int{1}, Data: []float32{1}}}, F32},
		"nil":          {map[string]*arch.Tensor{"a": nil}, F32},
	}
	for name, c := range cases {
		path := filepath.Join(dir, name)
		if err := Write(path, c.tensors, c.dtype, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: a file was left behind", name)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil {
		t.Fatal(err)
	} else if len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestReadsForeignFileWithOtherDTypes(t *testing.T) {
	dir := t.TempDir()
	// weight: F32 [2] = {1, -2}; ids: I64 [2]; half: F16 [1] = 1.0 (0x3c00), then 2 bytes of padding.
	header := `{"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"ids":{"dtype":"I64","shape":[2],"data_offsets":[8,24]},"half":{"dtype":"F16","shape":[1],"data_offsets":[24,26]}}`
	data := append(le32(0x3f800000, 0xc0000000), make([]byte, 16)...)
	data = append(data, 0x00, 0x3c)
	path := writeRaw(t, dir, "foreign.safetensors", header, data, -1)

	all, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || !slices.Equal(all["weight"].Data, []float32{1, -2}) || all["half"].Data[0] != 1 {
		t.Errorf("Load = %v", all)
	}
	if _, err := Load(path, func(n string) bool { return n == "weight" }); err != nil {
		t.Errorf("unwanted I64 tensor caused %v", err)
	}
	_, err = Load(path, func(n string) bool { return n == "ids" })
	if err == nil || !strings.Contains(err.Error(), `"ids"`) || !strings.Contains(err.Error(), path) {
		t.Errorf("wanted I64 tensor: err = %v", err)
	}
}

func TestMalformedFiles(t *testing.T) {
	ok := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	cases := []struct {
		name      string
		header    string
		data      []byte
		headerLen int64 // -1: the real length
		want      []string
	}{
		{"truncated length", "", nil, -2, []string{"truncated"}},
		{"header past end", ok, nil, 1000, []string{"truncated", "1000"}},
		{"header too large", ok, nil, 200 << 20, []string{"exceeds"}},
		{"not JSON", `{"w":`, nil, -1, []string{"invalid header JSON"}},
		{"not an object", `[1,2]`, nil, -1, []string{"not a JSON object"}},
		{"data truncated", ok, le32(1), -1, []string{`"w"`, "out of range"}},
		{"offsets past end", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, le32(1, 2), -1, []string{`"w"`, "out of range"}},
		{"offsets reversed", `{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, le32(1, 2), -1, []string{`"w"`, "invalid data_offsets"}},
		{"negative offset", `{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, le32(1, 2), -1, []string{`"w"`, "invalid data_offsets"}},
		{"size mismatch", `{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, le32(1, 2), -1, []string{`"w"`, "needs 12"}},
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, le32(1, 2), -1, []string{`"a"`, `"b"`, "overlap"}},
		{"unknown dtype", `{"w":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}}`, le32(1, 2), -1, []string{`"w"`, `unknown dtype "F12"`}},
		{"negative dimension", `{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, le32(1, 2), -1, []string{`"w"`, "negative"}},
		{"huge shape", `{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, le32(1, 2), -1, []string{`"w"`, "too large"}},
		{"unknown field", `{"w":{"dtype":"F32","shape":[2],"offsets":[0,8]}}`, le32(1, 2), -1, []string{`"w"`, "invalid header entry"}},
		{"bad metadata", `{"__metadata__":{"n":1}}`, nil, -1, []string{"__metadata__"}},
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var path string
			if c.headerLen == -2 {
				path = filepath.Join(dir, "short.safetensors")
				if err := os.WriteFile(path, []byte{1, 2, 3}, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				path = writeRaw(t, dir, strings.Repeat("x", i+1)+".safetensors", c.header, c.data, c.headerLen)
			}
			f, err := Open(path)
			if err == nil {
				testenv.Close(t, "the file that opened", f)
				t.Fatal("no error")
			}
			for _, w := range append(c.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTensorProgressCountsBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.safetensors")
	n := readChunk/4*2 + 3 // more than two chunks of F32
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i)
	}
	if err := Write(path, map[string]*arch.Tensor{"big": {Shape: []int{n}, Data: data}}, F32, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the file", f)
	var total int64
	calls := 0
	got, err := f.Tensor("big", func(b int64) { total += b; calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if total != int64(4*n) || calls != 3 {
		t.Errorf("progress reported %d bytes in %d calls, want %d in 3", total, calls, 4*n)
	}
	if !slices.Equal(got.Data, data) {
		t.Error("chunked read changed the data")
	}
	if _, err := f.Tensor("absent", nil); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("absent tensor: %v", err)
	}
}

func sortedKeys(m map[string]*arch.Tensor) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
