package safetensors

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// LoadCLIP reads a Hugging Face CLIPModel directory: config.json plus
// model.safetensors or a sharded index. It keeps the parameters of both towers
// and logit_scale (optional: arch.Weights.LogitScale falls back to the
// config), ignores everything else (e.g. position_ids buffers), and checks
// every shape before reading any data. progress, when not nil, is called with
// the bytes read so far and the total to read.
func LoadCLIP(dir string, progress func(done, total int64)) (arch.Config, arch.Weights, error) {
	cfg, err := arch.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return arch.Config{}, nil, fmt.Errorf("load CLIP: %w", err)
	}
	ckpt, err := OpenCheckpoint(dir)
	if err != nil {
		return arch.Config{}, nil, fmt.Errorf("load CLIP: %w", err)
	}
	defer ckpt.Close()

	names, total, err := clipTensors(cfg, ckpt)
	if err != nil {
		return arch.Config{}, nil, fmt.Errorf("load CLIP: %w", err)
	}
	var done int64
	onBytes := func(n int64) {
		done += n
		if progress != nil {
			progress(done, total)
		}
	}
	if progress != nil {
		progress(0, total)
	}
	w := arch.Weights{}
	for _, name := range names {
		t, err := ckpt.Tensor(name, onBytes)
		if err != nil {
			return arch.Config{}, nil, fmt.Errorf("load CLIP: %w", err)
		}
		w[name] = t
	}
	if t, ok := w[arch.LogitScaleParam.Name]; ok {
		t.Shape = []int{} // [1] and [] hold the same scalar
	}
	for _, tower := range []arch.Tower{arch.Vision, arch.Text} {
		if err := w.Check(cfg, tower); err != nil {
			return arch.Config{}, nil, fmt.Errorf("load CLIP from %s: %w", ckpt.Source(), err)
		}
	}
	return cfg, w, nil
}

// clipTensors lists the tensors to read, in checkpoint order, and their total
// size, after checking that each one is present with the shape the config
// wants.
func clipTensors(cfg arch.Config, ckpt *Checkpoint) ([]string, int64, error) {
	var names []string
	var total int64
	for _, tower := range []arch.Tower{arch.Vision, arch.Text} {
		for _, p := range cfg.Params(tower) {
			info, file, ok := ckpt.Info(p.Name)
			if !ok {
				return nil, 0, fmt.Errorf("%s: missing weight %q (%s tower)", ckpt.Source(), p.Name, tower)
			}
			if !slices.Equal(info.Shape, p.Shape) {
				return nil, 0, fmt.Errorf("%s: weight %q has shape %v, config wants %v", file, p.Name, info.Shape, p.Shape)
			}
			if err := checkFloat(file, p.Name, info); err != nil {
				return nil, 0, err
			}
			names = append(names, p.Name)
			total += info.Size
		}
	}
	if info, file, ok := ckpt.Info(arch.LogitScaleParam.Name); ok {
		if n := arch.NumElements(info.Shape); n != 1 {
			return nil, 0, fmt.Errorf("%s: %q has shape %v, want a scalar", file, arch.LogitScaleParam.Name, info.Shape)
		}
		if err := checkFloat(file, arch.LogitScaleParam.Name, info); err != nil {
			return nil, 0, err
		}
		names = append(names, arch.LogitScaleParam.Name)
		total += info.Size
	}
	// Reading in file order keeps the disk access sequential within each shard.
	slices.SortStableFunc(names, func(a, b string) int {
		ia, fa, _ := ckpt.Info(a)
		ib, fb, _ := ckpt.Info(b)
		return cmp.Or(strings.Compare(fa, fb), cmp.Compare(ia.Offset, ib.Offset))
	})
	return names, total, nil
}

func checkFloat(file, name string, info TensorInfo) error {
	if _, ok := elementSize(info.DType); !ok {
		return fmt.Errorf("%s: weight %q has dtype %s, want F32, F16 or BF16", file, name, info.DType)
	}
	return nil
}
