package synthetic

import (
	"context"
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
	img, _, err := GeneratePartMask(seed, partType, defect, width, height)
	return img, err
}

// GeneratePartMask is GeneratePart that also says where the defect was
// drawn: a mask of the picture's size, 255 on every pixel the defect
// changed and 0 elsewhere (all 0 for a good part).
func GeneratePartMask(seed int64, partType, defect string, width, height int) (*image.RGBA, *image.Gray, error) {
	part, err := partIndex(partType)
	if err != nil {
		return nil, nil, err
	}
	d, err := defectIndex(defect)
	if err != nil {
		return nil, nil, err
	}
	if width < 16 || height < 16 {
		return nil, nil, fmt.Errorf("generate part: size %dx%d is too small (at least 16x16)", width, height)
	}
	img, mask := generate(newRenderer(width, height), seed, uint64(part)<<32, part, d)
	return img, mask, nil
}

// generate renders a given part and defect, the variation drawn from (seed,
// stream), and the mask of where the defect was drawn.
//
// The mask is exact by construction: the scene is rendered a second time
// with the defect switched off (same pose, light and belt, since the defect
// geometry is the last thing a scene draws from its random stream), and
// every pixel that differs is the defect's, whatever the defect did there:
// recolour the surface, bend the outline, remove a pin, move a shadow.
func generate(r *renderer, seed int64, stream uint64, part, defect int) (*image.RGBA, *image.Gray) {
	rng := rand.New(rand.NewPCG(uint64(seed), stream))
	sc := newScene(rng, part, defect, r.w, r.h)
	bgr := make([]byte, r.w*r.h*3)
	r.render(bgr, r.w*3, &sc)
	img := image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	for i, j := 0, 0; i < len(bgr); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = bgr[i+2], bgr[i+1], bgr[i], 255
	}
	mask := image.NewGray(image.Rect(0, 0, r.w, r.h))
	if defect < 0 {
		return img, mask
	}
	good := sc
	good.defect = -1
	clean := make([]byte, len(bgr))
	r.render(clean, r.w*3, &good)
	for i := 0; i < len(bgr); i += 3 {
		if bgr[i] != clean[i] || bgr[i+1] != clean[i+1] || bgr[i+2] != clean[i+2] {
			mask.Pix[i/3] = 255
		}
	}
	return img, mask
}

// DatasetOptions say what WriteDatasetWith writes.
type DatasetOptions struct {
	N    int   // pictures per part type in each state, and good ones for training
	Seed int64 // the same seed always writes the same files
	// Parts are the part types (categories) to write; empty means all of
	// PartTypes.
	Parts []string
	// Progress, when set, is called after each picture with the pictures
	// written so far and the total.
	Progress func(done, total int)
}

// WriteDataset writes n pictures of every part type in each state (good and
// every defect kind) in the MVTec AD layout: <part>/test/good/000.png,
// <part>/test/<defect>/000.png, ..., with <part>/ground_truth/<defect>/
// 000_mask.png the mask of where each defect was drawn (white on the
// defect, black elsewhere). It also writes n good pictures per part to
// <part>/train/good, as MVTec AD has, for methods that need normal examples.
func WriteDataset(dir string, n int, seed int64) error {
	return WriteDatasetWith(context.Background(), dir, DatasetOptions{N: n, Seed: seed})
}

// WriteDatasetWith is WriteDataset with the options spelled out; it stops,
// with ctx's error, when ctx ends.
func WriteDatasetWith(ctx context.Context, dir string, o DatasetOptions) error {
	if o.N < 1 {
		return fmt.Errorf("write dataset: n = %d, want at least 1", o.N)
	}
	parts := o.Parts
	if len(parts) == 0 {
		parts = PartTypes
	}
	idx := make([]int, len(parts))
	for i, name := range parts {
		p, err := partIndex(name)
		if err != nil {
			return fmt.Errorf("write dataset: %w", err)
		}
		idx[i] = p
	}
	w := datasetWriter{ctx: ctx, r: newRenderer(DatasetSize, DatasetSize), o: o,
		total: len(parts) * o.N * (len(DefectKinds) + 2)}
	for _, part := range idx {
		partName := PartTypes[part]
		for d := -1; d < len(DefectKinds); d++ {
			class, masks := "good", ""
			if d >= 0 {
				class = DefectKinds[d]
				masks = filepath.Join(dir, partName, "ground_truth", class)
			}
			folder := filepath.Join(dir, partName, "test", class)
			if err := w.write(folder, masks, part, d, 0); err != nil {
				return err
			}
		}
		folder := filepath.Join(dir, partName, "train", "good")
		if err := w.write(folder, "", part, -1, 1); err != nil {
			return err
		}
	}
	return nil
}

type datasetWriter struct {
	ctx         context.Context
	r           *renderer
	o           DatasetOptions
	done, total int
}

// write writes N pictures into folder, and their masks into masks unless it
// is empty; split keeps train and test pictures distinct.
func (w *datasetWriter) write(folder, masks string, part, defect, split int) error {
	for _, f := range []string{folder, masks} {
		if f == "" {
			continue
		}
		if err := os.MkdirAll(f, 0o755); err != nil {
			return fmt.Errorf("write dataset: %w", err)
		}
	}
	for i := 0; i < w.o.N; i++ {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("write dataset: stopped after %d of %d pictures: %w", w.done, w.total, err)
		}
		stream := uint64(split)<<48 | uint64(part)<<40 | uint64(defect+1)<<32 | uint64(i)
		img, mask := generate(w.r, w.o.Seed, stream, part, defect)
		if err := writePNG(filepath.Join(folder, fmt.Sprintf("%03d.png", i)), img); err != nil {
			return fmt.Errorf("write dataset: %w", err)
		}
		if masks != "" {
			if err := writePNG(filepath.Join(masks, fmt.Sprintf("%03d_mask.png", i)), mask); err != nil {
				return fmt.Errorf("write dataset: %w", err)
			}
		}
		w.done++
		if w.o.Progress != nil {
			w.o.Progress(w.done, w.total)
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
