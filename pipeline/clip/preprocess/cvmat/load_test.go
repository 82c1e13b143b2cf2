package cvmat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/internal/pyref"

	"github.com/linesight/linesight/pipeline/clip/preprocess"
)

// referenceScript is OpenAI's transform run by Pillow (see its docstring).
var referenceScript = filepath.Join("..", "testdata", "clip_reference.py")

// runReference runs the reference script on a job of items (see the
// script's docstring) for the transform of p.
func runReference(t *testing.T, python string, p preprocess.Params, items []map[string]any) {
	t.Helper()
	job := map[string]any{
		"shortest_edge": p.ShortestEdge, "crop": []int{p.CropHeight, p.CropWidth},
		"mean": p.Mean, "std": p.Std, "items": items,
	}
	if p.ShortestEdge == 0 {
		job["resize"] = []int{p.ResizeWidth, p.ResizeHeight}
	}
	pyref.Run(t, python, referenceScript, job)
}

// testImage is smooth waves with noise on top, in colour or grey: content
// that exercises both the DCT's fine detail and chroma upsampling.
func testImage(rng *rand.Rand, grey bool, w, h int) image.Image {
	channels := 3
	if grey {
		channels = 1
	}
	wave := func(n int) []float64 {
		out := make([]float64, n*channels)
		for c := range channels {
			f1, f2, p1, p2 := rng.Float64()*0.2, rng.Float64()*0.03, rng.Float64()*6.3, rng.Float64()*6.3
			a1, a2 := 10+rng.Float64()*40, 10+rng.Float64()*40
			for i := range n {
				out[i*channels+c] = a1*math.Sin(f1*float64(i)+p1) + a2*math.Sin(f2*float64(i)+p2)
			}
		}
		return out
	}
	across, down := wave(w), wave(h)
	level := func(x, y, c int) uint8 {
		v := 128 + across[x*channels+c] + down[y*channels+c] + float64(rng.IntN(81)-40)
		return uint8(min(max(v, 0), 255))
	}
	r := image.Rect(0, 0, w, h)
	if grey {
		m := image.NewGray(r)
		for y := range h {
			for x := range w {
				m.Pix[y*m.Stride+x] = level(x, y, 0)
			}
		}
		return m
	}
	m := image.NewRGBA(r)
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{level(x, y, 0), level(x, y, 1), level(x, y, 2), 255})
		}
	}
	return m
}

func writeFile(t *testing.T, path string, img image.Image, jpegQuality int) {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if jpegQuality > 0 {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pixelDifference compares two images' pixels as 8-bit RGB.
func pixelDifference(a, b image.Image) (maxLevels, differ int) {
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			q := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, pair := range [3][2]uint8{{p.R, q.R}, {p.G, q.G}, {p.B, q.B}} {
				if d := int(pair[0]) - int(pair[1]); d != 0 {
					differ++
					maxLevels = max(maxLevels, d, -d)
				}
			}
		}
	}
	return maxLevels, differ
}

// jpegTolerance is the agreement with Pillow's tensor that CLIP needs: about
// one grey level after normalisation.
const jpegTolerance = 0.02

// TestJPEGMatchesPillow decodes JPEG files written by Go's encoder (4:2:0
// and grey) and by libjpeg through Pillow (4:4:4, 4:2:2, 4:2:0 and grey) and
// compares them with Pillow's decode and Pillow's CLIP tensor. OpenCV and
// Pillow both decode with libjpeg-turbo at its default settings, so the
// decoded pixels must be identical; the tensor must be within
// jpegTolerance (and is then identical too, as preprocess matches Pillow
// exactly on the same pixels).
func TestJPEGMatchesPillow(t *testing.T) {
	python := pyref.Python(t, "PIL")
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	p := preprocess.DefaultParams()

	type jpegCase struct{ name, jpeg string }
	var cases []jpegCase
	var encode []map[string]any
	sizes := []struct {
		name string
		w, h int
	}{{"odd", 333, 251}, {"tall", 301, 703}, {"upscale", 151, 99}, {"1080p", 1920, 1080}, {"tiny", 3, 5}, {"five-wide", 5, 7}, {"one-pixel", 1, 1}}
	for _, size := range sizes {
		for _, grey := range []bool{false, true} {
			mode := map[bool]string{false: "RGB", true: "L"}[grey]
			img := testImage(rng, grey, size.w, size.h)
			base := filepath.Join(dir, fmt.Sprintf("%s-%s", size.name, mode))
			goJPEG := base + "-go.jpg"
			writeFile(t, goJPEG, img, 90)
			cases = append(cases, jpegCase{fmt.Sprintf("go-encoded/%s/%s", size.name, mode), goJPEG})

			png := base + ".png"
			writeFile(t, png, img, 0)
			ratios := []string{"444", "422", "420"}
			if grey {
				ratios = []string{"grey"}
			}
			for sub, ratio := range ratios {
				c := jpegCase{fmt.Sprintf("pillow-encoded-%s/%s", ratio, size.name), fmt.Sprintf("%s-%s.jpg", base, ratio)}
				encode = append(encode, map[string]any{"encode_jpeg": png, "out": c.jpeg, "quality": 90, "subsampling": sub})
				cases = append(cases, c)
			}
		}
	}
	runReference(t, python, p, encode)
	var transform []map[string]any
	for _, c := range cases {
		transform = append(transform, map[string]any{"in": c.jpeg, "out": c.jpeg + ".f32", "decoded": c.jpeg + ".png"})
	}
	runReference(t, python, p, transform)

	pre := preprocess.New(p)
	defer pre.Close()
	worst := 0.0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := LoadImageFile(c.jpeg)
			if err != nil {
				t.Fatal(err)
			}
			pillow, err := preprocess.LoadImageFile(c.jpeg + ".png")
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != pillow.Bounds() {
				t.Fatalf("decoded %v, Pillow decoded %v", img.Bounds(), pillow.Bounds())
			}
			// Pillow's RGB and L images come back from PNG as RGBA and Gray.
			if reflect.TypeOf(img) != reflect.TypeOf(pillow) {
				t.Errorf("decoded a %T where Pillow decoded a %T", img, pillow)
			}
			pixelMax, pixelDiffer := pixelDifference(img, pillow)

			got := make([]float32, p.TensorLen())
			if err := pre.Image(img, got); err != nil {
				t.Fatal(err)
			}
			want := pyref.ReadTensor(t, c.jpeg+".f32")
			differ, maxAbs := 0, 0.0
			for i := range got {
				if got[i] != want[i] {
					differ++
					maxAbs = max(maxAbs, math.Abs(float64(got[i])-float64(want[i])))
				}
			}
			worst = max(worst, maxAbs)
			msg := fmt.Sprintf("%T: decoded pixels: %d of %d differ from Pillow's, by at most %d levels; tensor: %d of %d values differ, max %.4g",
				img, pixelDiffer, 3*img.Bounds().Dx()*img.Bounds().Dy(), pixelMax, differ, len(got), maxAbs)
			t.Log(msg)
			if pixelDiffer != 0 || maxAbs > jpegTolerance {
				t.Errorf("too far from Pillow: %s", msg)
			}
		})
	}
	t.Logf("%d JPEG files: largest tensor difference from Pillow %.4g", len(cases), worst)
}

// withEXIFOrientation inserts an EXIF segment with the given orientation tag
// right after the SOI marker of a JPEG file.
func withEXIFOrientation(t *testing.T, jpegData []byte, orientation uint16) []byte {
	t.Helper()
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	for _, field := range []any{
		uint32(8), // offset of IFD0
		uint16(1), // one entry
		// Tag 0x0112 (Orientation), type SHORT, count 1, value.
		[]uint16{0x0112, 3},
		uint32(1),
		[]uint16{orientation, 0},
		uint32(0), // no next IFD
	} {
		if err := binary.Write(&tiff, binary.BigEndian, field); err != nil {
			t.Fatal(err)
		}
	}
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	segment := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpegData[:2]...)
	out = append(out, segment...)
	out = append(out, payload...)
	return append(out, jpegData[2:]...)
}

// Pillow's Image.open does not apply the EXIF orientation, so the loader
// must not either: a file tagged "rotate 90" decodes as stored.
func TestEXIFOrientationNotApplied(t *testing.T) {
	dir := t.TempDir()
	img := testImage(rand.New(rand.NewPCG(7, 8)), false, 64, 32)
	plain := filepath.Join(dir, "plain.jpg")
	writeFile(t, plain, img, 90)
	data, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	rotated := filepath.Join(dir, "rotated.jpg")
	if err := os.WriteFile(rotated, withEXIFOrientation(t, data, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := LoadImageFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadImageFile(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != image.Rect(0, 0, 64, 32) {
		t.Fatalf("EXIF-rotated file decoded as %v, want it as stored (64x32)", got.Bounds())
	}
	if d, _ := pixelDifference(got, want); d != 0 {
		t.Errorf("EXIF-rotated file's pixels differ from the plain file's by up to %d levels", d)
	}
}

// JPEG files decode to opaque RGBA or grey, the types preprocess reads as
// Pillow's modes RGB and L.
func TestJPEGImageTypes(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(9, 10))
	colour, grey := filepath.Join(dir, "colour.jpg"), filepath.Join(dir, "grey.jpg")
	writeFile(t, colour, testImage(rng, false, 17, 9), 95)
	writeFile(t, grey, testImage(rng, true, 17, 9), 95)
	img, err := LoadImageFile(colour)
	if err != nil {
		t.Fatal(err)
	}
	rgba, ok := img.(*image.RGBA)
	if !ok || rgba.Bounds() != image.Rect(0, 0, 17, 9) {
		t.Fatalf("colour JPEG decoded as %T %v, want *image.RGBA of 17x9", img, img.Bounds())
	}
	for i := 3; i < len(rgba.Pix); i += 4 {
		if rgba.Pix[i] != 255 {
			t.Fatalf("alpha %d at byte %d, want opaque", rgba.Pix[i], i)
		}
	}
	// OpenCV decodes BGR; the channels must come out in RGB order.
	solid := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := 0; i < len(solid.Pix); i += 4 {
		copy(solid.Pix[i:], []byte{200, 40, 90, 255})
	}
	solidPath := filepath.Join(dir, "solid.jpg")
	writeFile(t, solidPath, solid, 95)
	decoded, err := LoadImageFile(solidPath)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pixelDifference(decoded, solid); d > 3 {
		t.Errorf("solid (200, 40, 90) decoded as %v: channels swapped?", decoded.At(8, 8))
	}
	if img, err := LoadImageFile(grey); err != nil {
		t.Fatal(err)
	} else if _, ok := img.(*image.Gray); !ok {
		t.Errorf("grey JPEG decoded as %T, want *image.Gray", img)
	}
}

// Other formats take preprocess.LoadImageFile's path unchanged, including
// the image types that carry Pillow's modes (palette, 1-bit, RGBA).
func TestOtherFormatsUseGoDecoders(t *testing.T) {
	dir := t.TempDir()
	palette := image.NewPaletted(image.Rect(0, 0, 5, 4), color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}})
	for i := range palette.Pix {
		palette.Pix[i] = uint8(i % 2)
	}
	translucent := image.NewNRGBA(image.Rect(0, 0, 3, 3))
	for i := range translucent.Pix {
		translucent.Pix[i] = uint8(29 * i)
	}
	for name, img := range map[string]image.Image{"palette.png": palette, "nrgba.png": translucent} {
		path := filepath.Join(dir, name)
		writeFile(t, path, img, 0)
		got, err := LoadImageFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := preprocess.LoadImageFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %T, want the %T that preprocess.LoadImageFile gives", name, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	var good bytes.Buffer
	if err := jpeg.Encode(&good, testImage(rand.New(rand.NewPCG(11, 12)), false, 32, 32), nil); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"truncated.jpg": good.Bytes()[:good.Len()/2],
		"no-frame.jpg":  {0xff, 0xd8, 0xff, 0xd9},
		"garbage.jpg":   append([]byte{0xff, 0xd8}, bytes.Repeat([]byte{0x42}, 100)...),
		"text.txt":      []byte("not an image at all"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{
		"missing.jpg":   "no such file",
		"truncated.jpg": "truncated",
		"no-frame.jpg":  "no frame header",
		"garbage.jpg":   "expected a marker",
		"text.txt":      "not a PNG, JPEG or GIF",
	} {
		path := filepath.Join(dir, name)
		img, err := LoadImageFile(path)
		if err == nil {
			t.Errorf("%s: decoded a %T, want an error", name, img)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q, want one naming the file and containing %q", name, err, want)
		}
	}
}

// The component count comes from the frame header wherever it sits; files
// with four components (CMYK, YCCK) are left to Go's decoder.
func TestJPEGComponents(t *testing.T) {
	segment := func(marker byte, body ...byte) []byte {
		return append([]byte{0xff, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
	}
	frame := func(components byte) []byte {
		return segment(0xc2, 8, 0, 16, 0, 16, components) // progressive, 16x16
	}
	var file []byte
	file = append(file, 0xff, 0xd8)
	file = append(file, segment(0xe0, []byte("JFIF\x00\x01\x02")...)...)
	file = append(file, segment(0xc4, 0, 1, 2, 3)...) // a DHT (0xc4) is not a frame header
	file = append(file, 0xff, 0xff)                   // fill bytes
	file = append(file, frame(4)...)
	file = append(file, segment(0xda, 1, 1, 0)...)
	file = append(file, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56) // stuffed byte, restart marker
	file = append(file, segment(0xda, 1, 1, 0)...)                // a second scan
	file = append(file, 0x78, 0xff, 0xd9)
	if n, err := jpegComponents(file); err != nil || n != 4 {
		t.Errorf("got %d components, error %v; want 4", n, err)
	}
	if _, err := jpegComponents(file[:len(file)-2]); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("file without EOI: error %v, want it reported as truncated", err)
	}
}
