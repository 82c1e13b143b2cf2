package benchmodels

import (
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

type imageAt struct {
	index int
	img   image.Image
}

func images(xs []imageAt) []image.Image {
	out := make([]image.Image, len(xs))
	for i, x := range xs {
		out[i] = x.img
	}
	return out
}

// datasetImages lists up to limit test images of a dataset in the MVTec AD
// layout, spread evenly over it (every k-th image) so that each category and
// defect kind keeps its share.
func datasetImages(dir string, limit int, log *slog.Logger) ([]string, error) {
	cats, err := offline.ReadDataset(dir, log)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, c := range cats {
		for _, im := range c.Images {
			all = append(all, im.Path)
		}
	}
	return spread(all, limit), nil
}

// spread keeps limit items of xs at even steps (all of them when limit <= 0
// or there are no more).
func spread(xs []string, limit int) []string {
	if limit <= 0 || len(xs) <= limit {
		return xs
	}
	out := make([]string, limit)
	for i := range out {
		out[i] = xs[i*len(xs)/limit]
	}
	return out
}

// syntheticImages writes pictures of the synthetic line into dir: every part
// type, good and with every defect kind, for each of the given seeds
// (24 pictures per seed).
func syntheticImages(dir string, seeds int) ([]string, error) {
	var paths []string
	for seed := 1; seed <= seeds; seed++ {
		for _, part := range synthetic.PartTypes {
			for _, defect := range append([]string{"good"}, synthetic.DefectKinds...) {
				img, err := synthetic.GeneratePart(int64(seed), part, defect, synthetic.DatasetSize, synthetic.DatasetSize)
				if err != nil {
					return nil, err
				}
				p := filepath.Join(dir, fmt.Sprintf("%s_%s_%02d.png", part, defect, seed))
				if err := writePNG(p, img); err != nil {
					return nil, err
				}
				paths = append(paths, p)
			}
		}
	}
	return paths, nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write synthetic image: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write synthetic image %s: %w", path, err)
	}
	return f.Close()
}
