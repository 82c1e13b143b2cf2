package safetensors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
)

// writeSharded splits tensors over two shards by name parity and writes the index.
func writeSharded(t *testing.T, dir string, tensors map[string]*arch.Tensor, dtype string) map[string]string {
	t.Helper()
	shards := map[string]map[string]*arch.Tensor{
		"model-00001-of-00002.safetensors": {},
		"model-00002-of-00002.safetensors": {},
	}
	weightMap := map[string]string{}
	for i, name := range sortedKeys(tensors) {
		file := "model-00001-of-00002.safetensors"
		if i%2 == 1 {
			file = "model-00002-of-00002.safetensors"
		}
		shards[file][name] = tensors[name]
		weightMap[name] = file
	}
	for file, part := range shards {
		if err := Write(filepath.Join(dir, file), part, dtype, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	writeIndex(t, dir, weightMap)
	return weightMap
}

func writeIndex(t *testing.T, dir string, weightMap map[string]string) {
	t.Helper()
	index, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": weightMap})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), index, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShardedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	tensors := randomTensors(3)
	weightMap := writeSharded(t, dir, tensors, F32)
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the checkpoint", c)
	if got := c.Names(); !slices.Equal(got, sortedKeys(tensors)) {
		t.Errorf("names %v", got)
	}
	for name, want := range tensors {
		_, file, ok := c.Info(name)
		if !ok || filepath.Base(file) != weightMap[name] {
			t.Errorf("%s: in %q, index says %q", name, file, weightMap[name])
		}
		got, err := c.Tensor(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Data, want.Data) || !slices.Equal(got.Shape, want.Shape) {
			t.Errorf("%s differs after the sharded round trip", name)
		}
	}
}

func TestSingleFileCheckpoint(t *testing.T) {
	dir := t.TempDir()
	tensors := randomTensors(4)
	if err := Write(filepath.Join(dir, SingleFileName), tensors, F32, nil); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the checkpoint", c)
	if filepath.Base(c.Source()) != SingleFileName || len(c.Names()) != len(tensors) {
		t.Errorf("source %s, %d tensors", c.Source(), len(c.Names()))
	}
}

func TestBrokenIndexes(t *testing.T) {
	tensors := map[string]*arch.Tensor{"a": {Shape: []int{1}, Data: []float32{1}}}
	cases := []struct {
		name      string
		weightMap map[string]string
		raw       string // used instead of weightMap when set
		want      string
	}{
		{"tensor not in its shard", map[string]string{"a": "s.safetensors", "b": "s.safetensors"}, "", `"b"`},
		{"missing shard", map[string]string{"a": "gone.safetensors"}, "", "gone.safetensors"},
		{"shard outside the directory", map[string]string{"a": "../s.safetensors"}, "", "not a file name"},
		{"empty weight map", map[string]string{}, "", "weight_map"},
		{"invalid JSON", nil, `{"weight_map": [`, "invalid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(filepath.Join(dir, "s.safetensors"), tensors, F32, nil); err != nil {
				t.Fatal(err)
			}
			if c.raw != "" {
				if err := os.WriteFile(filepath.Join(dir, IndexFileName), []byte(c.raw), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				writeIndex(t, dir, c.weightMap)
			}
			_, err := OpenCheckpoint(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), IndexFileName) {
				t.Errorf("err = %v, want it to name %q and the index", err, c.want)
			}
		})
	}
}

func TestCheckpointMissing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("pickle"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCheckpoint(dir)
	if err == nil || !strings.Contains(err.Error(), SingleFileName) {
		t.Errorf("err = %v", err)
	}
}
