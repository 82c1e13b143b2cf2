package preprocess

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/internal/pyref"
)

// referenceJob is the job file of testdata/clip_reference.py.
type referenceJob struct {
	ShortestEdge int              `json:"shortest_edge"`
	Resize       []int            `json:"resize,omitempty"`
	Crop         [2]int           `json:"crop"`
	Mean         [3]float32       `json:"mean"`
	Std          [3]float32       `json:"std"`
	Items        []map[string]any `json:"items"`
}

func newReferenceJob(p Params) referenceJob {
	j := referenceJob{ShortestEdge: p.ShortestEdge, Crop: [2]int{p.CropHeight, p.CropWidth}, Mean: p.Mean, Std: p.Std}
	if p.ShortestEdge == 0 {
		j.Resize = []int{p.ResizeWidth, p.ResizeHeight}
	}
	return j
}

func runReference(t *testing.T, python string, job referenceJob) {
	t.Helper()
	pyref.Run(t, python, filepath.Join("testdata", "clip_reference.py"), job)
}

// tensorDiff is how far apart two tensors are.
type tensorDiff struct {
	maxAbs  float64
	differ  int // values that are not bit-identical
	maxByte int // the largest difference in 8-bit levels, before normalisation
}

func compareTensors(got, want []float32, p Params) tensorDiff {
	var d tensorDiff
	plane := len(got) / 3
	for i := range got {
		if got[i] == want[i] {
			continue
		}
		d.differ++
		diff := math.Abs(float64(got[i]) - float64(want[i]))
		d.maxAbs = max(d.maxAbs, diff)
		levels := int(math.Round(diff * float64(p.Std[i/plane]) * 255))
		d.maxByte = max(d.maxByte, levels)
	}
	return d
}

// Test image content: smooth waves across and down the image with noise on
// top, so that both the kernel's fine detail and its large-scale weighting are
// exercised.
func randomLevels(rng *rand.Rand, w, h, channels int, noise int) []uint8 {
	pix := make([]uint8, w*h*channels)
	across, down := make([]float64, w*channels), make([]float64, h*channels)
	wave := func(out []float64, n int) {
		for c := range channels {
			f1, f2, p1, p2 := rng.Float64()*0.2, rng.Float64()*0.03, rng.Float64()*6.3, rng.Float64()*6.3
			a1, a2 := 10+rng.Float64()*40, 10+rng.Float64()*40
			for i := range n {
				out[i*channels+c] = a1*math.Sin(f1*float64(i)+p1) + a2*math.Sin(f2*float64(i)+p2)
			}
		}
	}
	wave(across, w)
	wave(down, h)
	for y := range h {
		for x := range w {
			for c := range channels {
				v := 128 + across[x*channels+c] + down[y*channels+c] + float64(rng.IntN(2*noise+1)-noise)
				pix[(y*w+x)*channels+c] = uint8(min(max(v, 0), 255))
			}
		}
	}
	return pix
}

func randomImage(rng *rand.Rand, mode string, w, h int) image.Image {
	r := image.Rect(0, 0, w, h)
	switch mode {
	case "L":
		m := image.NewGray(r)
		copy(m.Pix, randomLevels(rng, w, h, 1, 40))
		return m
	case "RGBA":
		m := image.NewNRGBA(r)
		copy(m.Pix, randomLevels(rng, w, h, 4, 40))
		// Mostly varying alpha, with fully transparent and opaque areas.
		for i := 3; i < len(m.Pix); i += 4 {
			switch rng.IntN(8) {
			case 0:
				m.Pix[i] = 0
			case 1:
				m.Pix[i] = 255
			}
		}
		return m
	case "P":
		palette := make(color.Palette, 1+rng.IntN(256))
		for i := range palette {
			palette[i] = color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		}
		m := image.NewPaletted(r, palette)
		for i := range m.Pix {
			m.Pix[i] = uint8(rng.IntN(len(palette)))
		}
		return m
	default: // "RGB"
		m := image.NewNRGBA(r)
		levels := randomLevels(rng, w, h, 3, 40)
		for i := range w * h {
			copy(m.Pix[4*i:4*i+3], levels[3*i:3*i+3])
			m.Pix[4*i+3] = 255
		}
		return m
	}
}

func writeImage(t *testing.T, path string, img image.Image, jpegQuality int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, path, f)
	if jpegQuality > 0 {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: jpegQuality})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

type referenceCase struct {
	name string
	w, h int
}

// referenceSizes cover every geometry of the transform.
var referenceSizes = []referenceCase{
	{"wide", 500, 300},
	{"tall", 300, 700},
	{"odd", 333, 251},
	{"upscale", 150, 100},
	{"exact", 224, 224},
	{"short-side-already-224", 224, 301},
	{"offset-87.5-rounds-to-88", 401, 225},
	{"offset-86.5-rounds-to-86", 396, 223},
	{"1080p", 1920, 1080},
	{"one-pixel", 1, 1},
	{"sliver", 3, 500},
	{"two-by-three", 2, 3},
}

// TestMatchesPillow compares tensors with OpenAI's transform run by Pillow on
// the same files. PNG inputs must match bit for bit.
func TestMatchesPillow(t *testing.T) {
	python := pyref.Python(t, "PIL")
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	params := []Params{DefaultParams(), {
		ShortestEdge: 336, CropHeight: 336, CropWidth: 336, Mean: openAIMean, Std: openAIStd,
	}, {
		// A fixed resize with a crop larger than it in one direction: padding.
		ResizeWidth: 256, ResizeHeight: 150, CropHeight: 171, CropWidth: 200, Mean: openAIMean, Std: openAIStd,
	}}
	modes := []string{"RGB", "L", "RGBA", "P"}
	for pi, p := range params {
		job := newReferenceJob(p)
		type check struct{ name, in, out string }
		var checks []check
		for _, size := range referenceSizes {
			if pi > 0 && size.w > 1000 {
				continue // one 1080p run is enough
			}
			for _, mode := range modes {
				name := fmt.Sprintf("%s/%dx%d/%s", size.name, size.w, size.h, mode)
				in := filepath.Join(dir, fmt.Sprintf("p%d-%s-%s.png", pi, size.name, mode))
				out := in + ".f32"
				writeImage(t, in, randomImage(rng, mode, size.w, size.h), 0)
				job.Items = append(job.Items, map[string]any{"in": in, "out": out})
				checks = append(checks, check{name, in, out})
			}
		}
		// 1-bit images, which only Pillow writes here.
		for _, size := range referenceSizes[:4] {
			in := filepath.Join(dir, fmt.Sprintf("p%d-%s-1bit.png", pi, size.name))
			writeImage(t, in+".gray.png", randomImage(rng, "L", size.w, size.h), 0)
			convert := referenceJob{Items: []map[string]any{{"convert": in + ".gray.png", "mode": "1", "out": in}}}
			runReference(t, python, convert)
			job.Items = append(job.Items, map[string]any{"in": in, "out": in + ".f32"})
			checks = append(checks, check{fmt.Sprintf("%s/%dx%d/1", size.name, size.w, size.h), in, in + ".f32"})
		}
		runReference(t, python, job)
		pre := New(p)
		defer pre.Close()
		for _, c := range checks {
			t.Run(fmt.Sprintf("params%d/%s", pi, c.name), func(t *testing.T) {
				img, err := LoadImageFile(c.in)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float32, p.TensorLen())
				if err := pre.Image(img, got); err != nil {
					t.Fatal(err)
				}
				want := pyref.ReadTensor(t, c.out)
				if d := compareTensors(got, want, p); d.differ != 0 {
					t.Errorf("%T differs from Pillow in %d of %d values (max %.4g, %d levels)", img, d.differ, len(got), d.maxAbs, d.maxByte)
				}
			})
		}
	}
}
