package synthetic

import (
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// DatasetSize is the width and height of the images WriteDataset writes.
const DatasetSize = 256

// GeneratePart renders one labelled picture of a part on the belt: partType
// is one of PartTypes, defect one of DefectKinds or "" / "good". The same
// arguments always give the same picture, and a defective part is posed and
// lit exactly as the good one of the same seed: only the defect differs.
func GeneratePart(seed int64, partType, defect string, width, height int) (*image.RGBA, error) {
	part, err := partIndex(partType)
	if err != nil {
		return nil, err
	}
	d, err := defectIndex(defect)
	if err != nil {
		return nil, err
	}
	if width < 16 || height < 16 {
		return nil, fmt.Errorf("generate part: size %dx%d is too small (at least 16x16)", width, height)
	}
	return generate(newRenderer(width, height), seed, uint64(part)<<32, part, d), nil
}

// generate renders a given part and defect, the variation drawn from (seed,
// stream).
func generate(r *renderer, seed int64, stream uint64, part, defect int) *image.RGBA {
	rng := rand.New(rand.NewPCG(uint64(seed), stream))
	sc := newScene(rng, part, defect, r.w, r.h)
	bgr := make([]byte, r.w*r.h*3)
	r.render(bgr, r.w*3, &sc)
	img := image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	for i, j := 0, 0; i < len(bgr); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = bgr[i+2], bgr[i+1], bgr[i], 255
	}
	return img
}

// WriteDataset writes n pictures of every part type in each state (good and
// every defect kind) in the MVTec AD layout: <part>/test/good/000.png,
// <part>/test/<defect>/000.png, ... It also writes n good pictures per part to
// <part>/train/good, as MVTec AD has, for methods that need normal examples.
func WriteDataset(dir string, n int, seed int64) error {
	if n < 1 {
		return fmt.Errorf("write dataset: n = %d, want at least 1", n)
	}
	r := newRenderer(DatasetSize, DatasetSize)
	for part, partName := range PartTypes {
		for d := -1; d < len(DefectKinds); d++ {
			class := "good"
			if d >= 0 {
				class = DefectKinds[d]
			}
			folder := filepath.Join(dir, partName, "test", class)
			if err := writeImages(r, folder, n, seed, part, d, 0); err != nil {
				return err
			}
		}
		folder := filepath.Join(dir, partName, "train", "good")
		if err := writeImages(r, folder, n, seed, part, -1, 1); err != nil {
			return err
		}
	}
	return nil
}

// writeImages writes n pictures into folder; split keeps train and test
// pictures distinct.
func writeImages(r *renderer, folder string, n int, seed int64, part, defect, split int) error {
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return fmt.Errorf("write dataset: %w", err)
	}
	for i := 0; i < n; i++ {
		stream := uint64(split)<<48 | uint64(part)<<40 | uint64(defect+1)<<32 | uint64(i)
		img := generate(r, seed, stream, part, defect)
		if err := writePNG(filepath.Join(folder, fmt.Sprintf("%03d.png", i)), img); err != nil {
			return fmt.Errorf("write dataset: %w", err)
		}
	}
	return nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}
