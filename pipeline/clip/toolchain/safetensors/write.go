package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// Write stores tensors in a safetensors file, converting them to dtype (F32,
// F16 or BF16). Tensors are laid out in name order and the header is padded
// with spaces to a multiple of 8 bytes, so the same input always gives the
// same bytes and the data starts aligned. The file is written beside path and
// renamed into place, so a failed write never leaves half a checkpoint.
func Write(path string, tensors map[string]*arch.Tensor, dtype string, metadata map[string]string) error {
	if err := checkWritableDType(dtype); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	header, names, err := buildHeader(tensors, dtype, metadata)
	if err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := writeBody(tmp, header, names, tensors, dtype); err != nil {
		tmp.Close()
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	// CreateTemp makes the file private; a checkpoint is meant to be shared.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	return nil
}

func buildHeader(tensors map[string]*arch.Tensor, dtype string, metadata map[string]string) ([]byte, []string, error) {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		switch {
		case name == "" || name == "__metadata__":
			return nil, nil, fmt.Errorf("invalid tensor name %q", name)
		case t == nil:
			return nil, nil, fmt.Errorf("tensor %q is nil", name)
		case len(t.Data) != arch.NumElements(t.Shape):
			return nil, nil, fmt.Errorf("tensor %q holds %d values for shape %v", name, len(t.Data), t.Shape)
		}
		names = append(names, name)
	}
	sort.Strings(names)

	elem, _ := elementSize(dtype)
	entries := make(map[string]any, len(names)+1)
	if len(metadata) > 0 {
		entries["__metadata__"] = metadata
	}
	var offset int64
	for _, name := range names {
		t := tensors[name]
		size := int64(len(t.Data) * elem)
		shape := append([]int{}, t.Shape...) // never null: a scalar is []
		entries[name] = headerEntry{DType: dtype, Shape: shape, DataOffsets: [2]int64{offset, offset + size}}
		offset += size
	}
	// encoding/json writes map keys sorted, which keeps the header deterministic.
	header, err := json.Marshal(entries)
	if err != nil {
		return nil, nil, fmt.Errorf("encode header: %w", err)
	}
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	return header, names, nil
}

func writeBody(file *os.File, header []byte, names []string, tensors map[string]*arch.Tensor, dtype string) error {
	w := bufio.NewWriterSize(file, 1<<20)
	if err := binary.Write(w, binary.LittleEndian, uint64(len(header))); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	var buf []byte
	for _, name := range names {
		data := tensors[name].Data
		// Encode in slices so a large tensor does not need a second full copy.
		for start := 0; start < len(data); start += readChunk {
			end := min(start+readChunk, len(data))
			buf = encode(dtype, data[start:end], buf[:0])
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
	}
	return w.Flush()
}
