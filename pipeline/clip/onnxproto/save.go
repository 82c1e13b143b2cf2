package onnxproto

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// maxProtoSize is the largest message protobuf parsers accept (2 GiB - 1).
const maxProtoSize = math.MaxInt32

// externalAlignment aligns each tensor in the external file to a page so
// that ONNX Runtime can memory-map it.
const externalAlignment = 4096

// defaultMinExternalBytes keeps small tensors (biases, scales, shapes) inline,
// as the onnx Python package does by default.
const defaultMinExternalBytes = 1024

func errTooLarge(n int64) error {
	return fmt.Errorf("model encodes to %d bytes, over protobuf's limit of %d", n, int64(maxProtoSize))
}

// SaveOptions controls where tensor data goes and reports progress.
type SaveOptions struct {
	// ExternalAbove moves initializers into the external data file when the
	// model file would otherwise be larger than this many bytes. Zero means
	// protobuf's 2 GiB limit; a small value forces external data.
	ExternalAbove int64
	// MinExternalBytes keeps tensors smaller than this inline even when the
	// others go external. Zero means 1024.
	MinExternalBytes int
	// Progress, when set, is called as bytes reach the disk, with the total
	// number of bytes both files will hold.
	Progress func(written, total int64)
}

// ExternalDataPath is where Save puts initializers that do not fit in the
// model file: "vision_model.onnx" -> "vision_model.onnx_data", the name
// Hugging Face Optimum uses.
func ExternalDataPath(modelPath string) string { return modelPath + "_data" }

// Save writes the model to path, with its large initializers in
// ExternalDataPath(path) when the model would exceed opts.ExternalAbove.
// Each file is written to a temporary name and renamed into place, so a
// crash never leaves a half-written model behind.
func (m *Model) Save(path string, opts SaveOptions) error {
	if m.Graph == nil {
		return fmt.Errorf("save model %s: it has no graph", path)
	}
	limit := opts.ExternalAbove
	if limit <= 0 || limit > maxProtoSize {
		limit = maxProtoSize
	}
	minBytes := opts.MinExternalBytes
	if minBytes <= 0 {
		minBytes = defaultMinExternalBytes
	}
	dataPath := ExternalDataPath(path)

	enc := encodeModel(m, nil)
	var ext placement
	var external []*Tensor
	var dataSize int64
	if enc.len() > limit {
		ext, external, dataSize = placeExternal(m.Graph, filepath.Base(dataPath), minBytes)
		enc = encodeModel(m, ext)
		if enc.len() > maxProtoSize {
			return fmt.Errorf("save model %s: %w", path, errTooLarge(enc.len()))
		}
	}

	pw := &progress{report: opts.Progress, total: enc.len() + dataSize}
	if len(external) > 0 {
		err := writeFileAtomic(dataPath, func(w io.Writer) error {
			return writeExternal(pw.wrap(w), external, ext)
		})
		if err != nil {
			return fmt.Errorf("save external data of %s: %w", path, err)
		}
	} else if err := os.Remove(dataPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		// A stale data file from an earlier save would mislead readers.
		return fmt.Errorf("remove stale external data %s: %w", dataPath, err)
	}
	err := writeFileAtomic(path, func(w io.Writer) error {
		pw := pw.wrap(w)
		for _, c := range enc.chunks() {
			if _, err := pw.Write(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	return nil
}

// placeExternal assigns each large initializer an aligned offset in the
// external file, in graph order.
func placeExternal(g *Graph, location string, minBytes int) (placement, []*Tensor, int64) {
	ext := placement{}
	var order []*Tensor
	var offset int64
	for _, t := range g.Initializers {
		if len(t.Raw) < minBytes {
			continue
		}
		offset = alignUp(offset, externalAlignment)
		ext[t] = ExternalData{Location: location, Offset: offset, Length: int64(len(t.Raw))}
		order = append(order, t)
		offset += int64(len(t.Raw))
	}
	return ext, order, offset
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

func writeExternal(w io.Writer, tensors []*Tensor, ext placement) error {
	var pos int64
	zeros := make([]byte, externalAlignment)
	for _, t := range tensors {
		loc := ext[t]
		if pad := loc.Offset - pos; pad > 0 {
			if _, err := w.Write(zeros[:pad]); err != nil {
				return err
			}
		}
		if _, err := w.Write(t.Raw); err != nil {
			return fmt.Errorf("write tensor %q: %w", t.Name, err)
		}
		pos = loc.Offset + loc.Length
	}
	return nil
}

func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file private; models are meant to be shared.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// progress counts bytes across both files and reports them.
type progress struct {
	report  func(written, total int64)
	written int64
	total   int64
}

func (p *progress) wrap(w io.Writer) io.Writer {
	if p.report == nil {
		return w
	}
	return &progressWriter{w: w, p: p}
}

type progressWriter struct {
	w io.Writer
	p *progress
}

// reportEvery keeps the callback cheap while still moving smoothly.
const reportEvery = 4 << 20

func (pw *progressWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		chunk := b
		if len(chunk) > reportEvery {
			chunk = chunk[:reportEvery]
		}
		k, err := pw.w.Write(chunk)
		n += k
		pw.p.written += int64(k)
		if err != nil {
			return n, err
		}
		b = b[k:]
		pw.p.report(pw.p.written, pw.p.total)
	}
	return n, nil
}
