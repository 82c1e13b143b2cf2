package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// File names of a Hugging Face checkpoint directory.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// Checkpoint is a model's tensors spread over one or more safetensors files:
// a single model.safetensors, or the shards a model.safetensors.index.json
// names.
type Checkpoint struct {
	source string           // the file or index the checkpoint was opened from
	files  []*File          // every open file, for Close
	owner  map[string]*File // tensor name -> the file holding it
}

// OpenCheckpoint opens the checkpoint in a Hugging Face model directory,
// preferring the sharded index when both forms are present.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	index := filepath.Join(dir, IndexFileName)
	if _, err := os.Stat(index); err == nil {
		return OpenIndex(index)
	}
	single := filepath.Join(dir, SingleFileName)
	if _, err := os.Stat(single); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open checkpoint: %s has neither %s nor %s (PyTorch .bin checkpoints are not supported; save with safetensors)", dir, SingleFileName, IndexFileName)
		}
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	f, err := Open(single)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{source: single, files: []*File{f}, owner: map[string]*File{}}
	for _, name := range f.Names() {
		c.owner[name] = f
	}
	return c, nil
}

type indexFile struct {
	WeightMap map[string]string `json:"weight_map"`
}

// OpenIndex opens a sharded checkpoint from its index file. Shards live beside
// the index; every tensor the index lists must be in the shard it names.
func OpenIndex(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint index: %w", err)
	}
	var idx indexFile
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("checkpoint index %s: invalid JSON: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("checkpoint index %s: empty or missing weight_map", path)
	}
	c := &Checkpoint{source: path, owner: map[string]*File{}}
	shards := map[string]*File{}
	names := make([]string, 0, len(idx.WeightMap))
	for name := range idx.WeightMap {
		names = append(names, name)
	}
	sort.Strings(names) // open shards and report problems in a stable order
	for _, name := range names {
		shard := idx.WeightMap[name]
		f, ok := shards[shard]
		if !ok {
			// Shards are plain names beside the index; refuse anything that
			// would read outside the model directory.
			if shard == "" || shard != filepath.Base(shard) || strings.ContainsAny(shard, `/\`) || shard == ".." {
				c.Close()
				return nil, fmt.Errorf("checkpoint index %s: tensor %q: shard %q is not a file name beside the index", path, name, shard)
			}
			f, err = Open(filepath.Join(filepath.Dir(path), shard))
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("checkpoint index %s: %w", path, err)
			}
			shards[shard] = f
			c.files = append(c.files, f)
		}
		if _, ok := f.Info(name); !ok {
			c.Close()
			return nil, fmt.Errorf("checkpoint index %s: tensor %q is mapped to %s, which does not hold it", path, name, f.Path())
		}
		c.owner[name] = f
	}
	return c, nil
}

// Close closes every file of the checkpoint.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Source is the file (model.safetensors or the index) the checkpoint came from.
func (c *Checkpoint) Source() string { return c.source }

// Names lists every tensor in sorted order.
func (c *Checkpoint) Names() []string {
	names := make([]string, 0, len(c.owner))
	for n := range c.owner {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info describes a tensor and names the file holding it.
func (c *Checkpoint) Info(name string) (TensorInfo, string, bool) {
	f, ok := c.owner[name]
	if !ok {
		return TensorInfo{}, "", false
	}
	info, _ := f.Info(name)
	return info, f.Path(), true
}

// Tensor reads one tensor as float32; onBytes as in File.Tensor.
func (c *Checkpoint) Tensor(name string, onBytes func(n int64)) (*arch.Tensor, error) {
	f, ok := c.owner[name]
	if !ok {
		return nil, fmt.Errorf("checkpoint %s: no tensor %q", c.source, name)
	}
	return f.Tensor(name, onBytes)
}
