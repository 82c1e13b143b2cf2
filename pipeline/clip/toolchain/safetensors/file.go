// Package safetensors reads and writes the safetensors tensor format and loads
// Hugging Face CLIP checkpoints (single-file or sharded) into arch.Weights.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON mapping
// each tensor name to {dtype, shape, data_offsets} (plus an optional
// "__metadata__" object of strings), then the data; offsets count from the end
// of the header. F32, F16 and BF16 tensors are read as float32.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// maxHeaderSize bounds the JSON header, as the reference implementation does,
// so a corrupt length cannot make us allocate gigabytes.
const maxHeaderSize = 100 << 20

// readChunk is how many bytes a tensor read moves at once; it bounds the extra
// memory of a read to well under the tensor itself.
const readChunk = 1 << 20

// TensorInfo describes one tensor of a file without reading it.
type TensorInfo struct {
	DType  string
	Shape  []int
	Offset int64 // absolute offset of the first byte in the file
	Size   int64 // bytes
}

// File is an open safetensors file whose header has been read and checked.
type File struct {
	path     string
	file     *os.File
	tensors  map[string]TensorInfo
	metadata map[string]string
}

type headerEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Open reads and checks the header of a safetensors file. The data stays on
// disk until a tensor is read.
func Open(path string) (*File, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open safetensors: %w", err)
	}
	f := &File{path: path, file: file}
	if err := f.readHeader(); err != nil {
		file.Close()
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return f, nil
}

func (f *File) readHeader() error {
	stat, err := f.file.Stat()
	if err != nil {
		return err
	}
	fileSize := stat.Size()
	var lenBuf [8]byte
	if _, err := f.file.ReadAt(lenBuf[:], 0); err != nil {
		return fmt.Errorf("truncated file: %d bytes, no 8-byte header length", fileSize)
	}
	headerLen := binary.LittleEndian.Uint64(lenBuf[:])
	if headerLen > maxHeaderSize {
		return fmt.Errorf("header length %d exceeds the %d-byte limit", headerLen, maxHeaderSize)
	}
	if int64(headerLen) > fileSize-8 {
		return fmt.Errorf("truncated file: header length %d but only %d bytes follow", headerLen, fileSize-8)
	}
	header := make([]byte, headerLen)
	if _, err := f.file.ReadAt(header, 8); err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	dataStart := 8 + int64(headerLen)
	return f.parseHeader(header, dataStart, fileSize-dataStart)
}

func (f *File) parseHeader(header []byte, dataStart, dataSize int64) error {
	if len(header) == 0 || header[0] != '{' {
		return fmt.Errorf("invalid header: not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return fmt.Errorf("invalid header JSON: %w", err)
	}
	f.tensors = make(map[string]TensorInfo, len(raw))
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	for name, value := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(value, &f.metadata); err != nil {
				return fmt.Errorf("invalid __metadata__ (want an object of strings): %w", err)
			}
			continue
		}
		var e headerEntry
		dec := json.NewDecoder(bytes.NewReader(value))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("tensor %q: invalid header entry: %w", name, err)
		}
		size, err := byteSize(e.DType, e.Shape)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		switch {
		case begin < 0 || end < begin:
			return fmt.Errorf("tensor %q: invalid data_offsets [%d, %d]", name, begin, end)
		case end > dataSize:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] out of range: the data section has %d bytes (truncated file?)", name, begin, end, dataSize)
		case end-begin != size:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] span %d bytes, dtype %s shape %v needs %d", name, begin, end, end-begin, e.DType, e.Shape, size)
		}
		shape := append([]int{}, e.Shape...)
		f.tensors[name] = TensorInfo{DType: e.DType, Shape: shape, Offset: dataStart + begin, Size: size}
		spans = append(spans, span{name, begin, end})
	}
	// Byte ranges must not overlap, or one tensor's bytes would be read as another's.
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	for i := 1; i < len(spans); i++ {
		prev, cur := spans[i-1], spans[i]
		if cur.begin < prev.end {
			return fmt.Errorf("tensors %q [%d, %d] and %q [%d, %d] overlap", prev.name, prev.begin, prev.end, cur.name, cur.begin, cur.end)
		}
	}
	return nil
}

// byteSize is the storage of a tensor, with overflow checks on the shape.
func byteSize(dtype string, shape []int) (int64, error) {
	bits, ok := dtypeBits[dtype]
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", dtype)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d > 0 && n > math.MaxInt64/8/int64(d) {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= int64(d)
	}
	return (n*int64(bits) + 7) / 8, nil
}

// Close closes the underlying file.
func (f *File) Close() error { return f.file.Close() }

// Path is the file's path as given to Open.
func (f *File) Path() string { return f.path }

// Metadata is the header's "__metadata__" object (nil when absent).
func (f *File) Metadata() map[string]string { return f.metadata }

// Names lists the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info describes a tensor without reading it.
func (f *File) Info(name string) (TensorInfo, bool) {
	info, ok := f.tensors[name]
	return info, ok
}

// Tensor reads one tensor as float32. onBytes, when not nil, is called with the
// number of bytes read after each chunk.
func (f *File) Tensor(name string, onBytes func(n int64)) (*arch.Tensor, error) {
	info, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors %s: no tensor %q", f.path, name)
	}
	t, err := f.readTensor(info, onBytes)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.path, name, err)
	}
	return t, nil
}

func (f *File) readTensor(info TensorInfo, onBytes func(n int64)) (*arch.Tensor, error) {
	elem, ok := elementSize(info.DType)
	if !ok {
		return nil, fmt.Errorf("dtype %s cannot be read as float (F32, F16, BF16)", info.DType)
	}
	count := int(info.Size) / elem
	data := make([]float32, count)
	chunk := readChunk / elem * elem
	buf := make([]byte, min(int64(chunk), info.Size))
	for done := 0; done < count; {
		n := min(count-done, chunk/elem)
		raw := buf[:n*elem]
		if _, err := f.file.ReadAt(raw, info.Offset+int64(done*elem)); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read data: %w", err)
		}
		decode(info.DType, raw, data[done:done+n])
		done += n
		if onBytes != nil {
			onBytes(int64(len(raw)))
		}
	}
	return &arch.Tensor{Shape: append([]int{}, info.Shape...), Data: data}, nil
}

// Load reads the float tensors of a file that want accepts (all of them when
// want is nil). A wanted tensor of another dtype is an error; unwanted ones are
// never read.
func Load(path string, want func(name string) bool) (arch.Weights, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := arch.Weights{}
	for _, name := range f.Names() {
		if want == nil {
			if _, ok := elementSize(f.tensors[name].DType); !ok {
				continue
			}
		} else if !want(name) {
			continue
		}
		t, err := f.Tensor(name, nil)
		if err != nil {
			return nil, err
		}
		w[name] = t
	}
	return w, nil
}
