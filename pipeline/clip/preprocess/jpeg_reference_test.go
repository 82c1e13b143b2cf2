package preprocess

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/internal/pyref"
)

// Go's decoder and libjpeg run different IDCTs, which move a few percent of
// the decoded values by up to 3 levels (grey by 1); resizing spreads them and
// upscaling's overshoot can grow them to 4 levels, about 0.06 after
// normalisation. Chroma upsampled and converted the way Go does by default
// instead of libjpeg's way would differ by 20 to 40 levels (0.3 to 0.6).
const (
	jpegPixelLevels = 3
	jpegPixelShare  = 0.1
	jpegTolerance   = 0.075
)

// TestJPEGMatchesPillow compares JPEG files, which Go's decoder and libjpeg
// (under Pillow) decode independently, so they are held to the decoders'
// difference (see jpegTolerance). The pixels Pillow decoded, saved
// losslessly, must give its tensor exactly, which separates decoder
// differences from preprocessing ones.
func TestJPEGMatchesPillow(t *testing.T) {
	python := pyref.Python(t, "PIL")
	rng := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	p := DefaultParams()

	type jpegCase struct {
		name, jpeg, decoded, out string
	}
	var cases []jpegCase
	encodeJob := newReferenceJob(p)
	sizes := []referenceCase{{"odd", 333, 251}, {"tall", 301, 703}, {"upscale", 151, 99}, {"1080p", 1920, 1080}, {"tiny", 3, 5}, {"four-wide", 4, 9}, {"five-wide", 5, 7}, {"one-pixel", 1, 1}}
	for _, size := range sizes {
		for _, mode := range []string{"RGB", "L"} {
			img := randomImage(rng, mode, size.w, size.h)
			base := filepath.Join(dir, fmt.Sprintf("%s-%s", size.name, mode))
			// Go's encoder: 4:2:0 colour or greyscale.
			c := jpegCase{name: fmt.Sprintf("go-encoded/%s/%s", size.name, mode), jpeg: base + "-go.jpg"}
			writeImage(t, c.jpeg, img, 90)
			cases = append(cases, c)
			if mode != "RGB" || size.w > 1000 {
				continue
			}
			// libjpeg's encoder through Pillow, in each chroma subsampling.
			png := base + ".png"
			writeImage(t, png, img, 0)
			for sub, ratio := range []string{"444", "422", "420"} {
				c := jpegCase{name: fmt.Sprintf("pillow-encoded-%s/%s", ratio, size.name), jpeg: fmt.Sprintf("%s-%s.jpg", base, ratio)}
				encodeJob.Items = append(encodeJob.Items, map[string]any{"encode_jpeg": png, "out": c.jpeg, "quality": 90, "subsampling": sub})
				cases = append(cases, c)
			}
		}
	}
	runReference(t, python, encodeJob)

	job := newReferenceJob(p)
	for i := range cases {
		c := &cases[i]
		c.out, c.decoded = c.jpeg+".f32", c.jpeg+".decoded.png"
		job.Items = append(job.Items, map[string]any{"in": c.jpeg, "out": c.out, "decoded": c.decoded})
	}
	runReference(t, python, job)

	pre := New(p)
	defer pre.Close()
	tensor := func(t *testing.T, img image.Image) []float32 {
		t.Helper()
		out := make([]float32, p.TensorLen())
		if err := pre.Image(img, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := pyref.ReadTensor(t, c.out)
			img, err := LoadImageFile(c.jpeg)
			if err != nil {
				t.Fatal(err)
			}
			d := compareTensors(tensor(t, img), want, p)
			msg := fmt.Sprintf("%T: %d of %d values differ from Pillow, max %.4g (%d levels)", img, d.differ, len(want), d.maxAbs, d.maxByte)
			if ycc, ok := img.(*image.YCbCr); ok {
				// For scale: Go's own YCbCr to RGB conversion, without
				// libjpeg's chroma upsampling.
				plain := image.NewRGBA(ycc.Rect)
				draw.Draw(plain, plain.Rect, ycc, ycc.Rect.Min, draw.Src)
				pd := compareTensors(tensor(t, plain), want, p)
				msg += fmt.Sprintf("; with Go's colour conversion instead: %d differ, max %.4g (%d levels)", pd.differ, pd.maxAbs, pd.maxByte)
			}
			decoded, err := LoadImageFile(c.decoded)
			if err != nil {
				t.Fatal(err)
			}
			pixelMax, pixelDiffer := decodedDifference(img, decoded)
			msg += fmt.Sprintf("; decoded pixels: %d of %d differ, by at most %d levels", pixelDiffer, 3*img.Bounds().Dx()*img.Bounds().Dy(), pixelMax)
			t.Log(msg)
			pixels := 3 * img.Bounds().Dx() * img.Bounds().Dy()
			tooMany := pixels >= 10000 && float64(pixelDiffer) > jpegPixelShare*float64(pixels) // a share says little of a tiny image
			if pixelMax > jpegPixelLevels || tooMany || d.maxAbs > jpegTolerance {
				t.Errorf("too far from Pillow: %s", msg)
			}
			if d := compareTensors(tensor(t, decoded), want, p); d.differ != 0 {
				t.Errorf("Pillow's decoded pixels (%T) give %d values that differ from Pillow's tensor (max %.4g)", decoded, d.differ, d.maxAbs)
			}
		})
	}
}

// decodedDifference compares the RGB pixels this package reads from a
// Go-decoded image with the pixels Pillow decoded from the same file.
func decodedDifference(img, pillow image.Image) (maxLevels, differ int) {
	b := img.Bounds()
	var rows rowSource
	var l layout
	var scratch bandScratch
	scratch.row = make([]byte, 4*b.Dx())
	switch m := img.(type) {
	case *image.YCbCr:
		s := newYCbCrRows(m)
		rows, l = &s, layoutRGB
		scratch.cb, scratch.cr = make([]int32, b.Dx()+1), make([]int32, b.Dx()+1)
	case *image.Gray:
		s := imageRows(m.Pix, m.Stride, 0, b.Dx(), 1)
		rows, l = &s, layoutGray
	default:
		panic(fmt.Sprintf("unexpected %T", img))
	}
	for y := range b.Dy() {
		row := rows.row(y, 0, b.Dx(), &scratch)
		for x := range b.Dx() {
			r, g, bl := l.order.toRGB(row[x*l.pixelBytes:])
			want := color.NRGBAModel.Convert(pillow.At(x, y)).(color.NRGBA)
			for _, pair := range [3][2]uint8{{r, want.R}, {g, want.G}, {bl, want.B}} {
				if d := int(pair[0]) - int(pair[1]); d != 0 {
					differ++
					maxLevels = max(maxLevels, d, -d)
				}
			}
		}
	}
	return maxLevels, differ
}
