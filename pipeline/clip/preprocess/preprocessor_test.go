package preprocess

import (
	"image"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func tensorOf(t testing.TB, pre *Preprocessor, img image.Image) []float32 {
	t.Helper()
	out := make([]float32, pre.Params().TensorLen())
	if err := pre.Image(img, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// opaqueRGBA is a random opaque image as *image.RGBA.
func opaqueRGBA(rng *rand.Rand, w, h int) *image.RGBA {
	n := randomImage(rng, "RGB", w, h).(*image.NRGBA)
	return &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
}

// toBGR interleaves an image's pixels as B, G, R (and A) bytes, with extra
// bytes at the end of each row.
func toBGR(m *image.RGBA, pixelBytes, padding int) (pix []byte, stride int) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	stride = w*pixelBytes + padding
	pix = make([]byte, h*stride)
	for y := range h {
		for x := range w {
			s, d := m.Pix[y*m.Stride+4*x:], pix[y*stride+pixelBytes*x:]
			d[0], d[1], d[2] = s[2], s[1], s[0]
			if pixelBytes == 4 {
				d[3] = 0 // frames' alpha carries nothing and must be ignored
			}
		}
	}
	return pix, stride
}

// Frames in OpenCV layouts give the same tensors as the same pixels as an
// image.Image.
func TestFramesMatchImages(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pre := New(DefaultParams())
	defer pre.Close()
	for _, size := range [][2]int{{640, 480}, {333, 251}, {150, 100}, {224, 224}} {
		w, h := size[0], size[1]
		img := opaqueRGBA(rng, w, h)
		want := tensorOf(t, pre, img)
		got := make([]float32, len(want))

		pix, stride := toBGR(img, 3, 5)
		if err := pre.BGR(pix, w, h, stride, got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%dx%d: BGR frame differs from the image", w, h)
		}
		pix, stride = toBGR(img, 4, 0)
		if err := pre.BGRA(pix, w, h, stride, got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%dx%d: BGRA frame differs from the image", w, h)
		}

		gray := randomImage(rng, "L", w, h).(*image.Gray)
		want = tensorOf(t, pre, gray)
		if err := pre.Gray(gray.Pix, w, h, gray.Stride, got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%dx%d: grey frame differs from the image", w, h)
		}
	}
}

// Every way of holding the same opaque pixels gives the same tensor: the
// fast paths, the generic path, and a sub-image of a larger image.
func TestImageTypesAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pre := New(DefaultParams())
	defer pre.Close()
	img := opaqueRGBA(rng, 500, 300)
	want := tensorOf(t, pre, img)

	nrgba := &image.NRGBA{Pix: img.Pix, Stride: img.Stride, Rect: img.Rect}
	rgba64 := image.NewRGBA64(img.Rect) // goes through the generic path
	big := image.NewRGBA(image.Rect(-7, -3, 520, 310))
	for y := range 300 {
		for x := range 500 {
			rgba64.Set(x, y, img.At(x, y))
			big.Set(x+11, y+5, img.At(x, y))
		}
	}
	sub := big.SubImage(image.Rect(11, 5, 511, 305))
	for name, m := range map[string]image.Image{"NRGBA": nrgba, "RGBA64 (generic)": rgba64, "sub-image": sub} {
		if got := tensorOf(t, pre, m); !slices.Equal(got, want) {
			t.Errorf("%s differs from *image.RGBA", name)
		}
	}

	// Translucent pixels through the generic path. (Colour models turn fully
	// transparent pixels black, so this image has them black too. Unresized,
	// their round trip through premultiplied 16-bit colour loses levels at
	// low alpha, so only the resized case can match exactly.)
	for _, size := range [][2]int{{300, 200}} {
		translucent := randomImage(rng, "RGBA", size[0], size[1]).(*image.NRGBA)
		wide := image.NewNRGBA64(translucent.Rect)
		for i := 0; i < len(translucent.Pix); i += 4 {
			if translucent.Pix[i+3] == 0 {
				clear(translucent.Pix[i : i+3])
			}
			for c := range 4 {
				wide.Pix[2*(i+c)], wide.Pix[2*(i+c)+1] = translucent.Pix[i+c], translucent.Pix[i+c]
			}
		}
		if !slices.Equal(tensorOf(t, pre, wide), tensorOf(t, pre, translucent)) {
			t.Errorf("%v translucent NRGBA64 (generic) differs from NRGBA", size)
		}
	}

	// A palette image and its pixels as RGBA: when the size is kept, nearest
	// and bicubic both leave pixels alone.
	pal := randomImage(rng, "P", 224, 260).(*image.Paletted)
	rgba := image.NewRGBA(pal.Rect)
	for y := range 260 {
		for x := range 224 {
			rgba.Set(x, y, pal.At(x, y))
		}
	}
	if !slices.Equal(tensorOf(t, pre, pal), tensorOf(t, pre, rgba)) {
		t.Error("palette image without resize differs from its RGBA pixels")
	}
}

// Splitting a frame over goroutines gives the same tensor as one goroutine.
func TestParallelMatchesSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	serial := newPreprocessor(DefaultParams(), 1)
	parallel := newPreprocessor(DefaultParams(), 5)
	defer serial.Close()
	defer parallel.Close()
	ycc := image.NewYCbCr(image.Rect(0, 0, 1919, 1081), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(rng.IntN(256))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
	for _, img := range []image.Image{
		opaqueRGBA(rng, 1920, 1080),
		randomImage(rng, "RGBA", 1920, 1080),
		randomImage(rng, "L", 1080, 1920),
		ycc,
	} {
		if !slices.Equal(tensorOf(t, serial, img), tensorOf(t, parallel, img)) {
			t.Errorf("%T: parallel result differs from serial", img)
		}
	}
}

// A stream of same-sized frames allocates nothing.
func TestSteadyStateAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pre := New(DefaultParams())
	defer pre.Close()
	dst := make([]float32, pre.Params().TensorLen())
	ycc := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	bgrImage := opaqueRGBA(rng, 1920, 1080)
	bgr, stride := toBGR(bgrImage, 3, 0)
	translucent := randomImage(rng, "RGBA", 800, 600)
	gray := randomImage(rng, "L", 800, 600)
	paletted := randomImage(rng, "P", 800, 600)
	cases := map[string]func() error{
		"RGBA":             func() error { return pre.Image(bgrImage, dst) },
		"NRGBA with alpha": func() error { return pre.Image(translucent, dst) },
		"Gray":             func() error { return pre.Image(gray, dst) },
		"Paletted":         func() error { return pre.Image(paletted, dst) },
		"YCbCr":            func() error { return pre.Image(ycc, dst) },
		"BGR":              func() error { return pre.BGR(bgr, 1920, 1080, stride, dst) },
	}
	for name, run := range cases {
		if err := run(); err != nil { // first call sizes the buffers
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(5, func() {
			if err := run(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", name, allocs)
		}
	}
}

func TestInputErrors(t *testing.T) {
	pre := New(DefaultParams())
	defer pre.Close()
	good := make([]float32, pre.Params().TensorLen())
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"short tensor", func() error { return pre.Image(image.NewGray(image.Rect(0, 0, 9, 9)), good[1:]) }, "want 150528"},
		{"empty image", func() error { return pre.Image(image.NewGray(image.Rect(0, 0, 0, 9)), good) }, "no pixels"},
		{"short frame", func() error { return pre.BGR(make([]byte, 100), 10, 10, 30, good) }, "needs 300 bytes"},
		{"narrow stride", func() error { return pre.BGRA(make([]byte, 400), 10, 10, 30, good) }, "stride 30"},
	}
	for _, tt := range tests {
		err := tt.run()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

// A tiny example whose tensor is known without any resampling: a 224x224
// image of one colour normalises every pixel the same way.
func TestNormalisation(t *testing.T) {
	pre := New(DefaultParams())
	defer pre.Close()
	img := image.NewNRGBA(image.Rect(0, 0, 224, 224))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 255, 0, 128, 255
	}
	got := tensorOf(t, pre, img)
	// (255/255 - 0.48145466) / 0.26862954, (0 - 0.4578275) / 0.26130258,
	// (128/255 - 0.40821073) / 0.27577711, to float32 precision.
	want := [3]float32{1.9303361, -1.7520971, 0.33994877}
	plane := 224 * 224
	for c := range 3 {
		for _, v := range []float32{got[c*plane], got[(c+1)*plane-1]} {
			if d := v - want[c]; d > 1e-6 || d < -1e-6 {
				t.Errorf("channel %d: %v, want %v", c, v, want[c])
			}
		}
	}
}

func TestOpaqueAlpha(t *testing.T) {
	pix := make([]byte, 4*5*3)
	for i := 3; i < len(pix); i += 4 {
		pix[i] = 255
	}
	rows := byteRows{pix: pix, stride: 20, width: 20}
	if !opaqueAlpha(&rows, 0, 5, 0, 3) {
		t.Fatal("opaque image reported translucent")
	}
	for _, x := range []int{0, 1, 4} { // even, odd and last column
		pix[20+4*x+3] = 254
		if opaqueAlpha(&rows, 0, 5, 0, 3) {
			t.Errorf("alpha 254 at column %d not seen", x)
		}
		if !opaqueAlpha(&rows, 0, 5, 2, 3) {
			t.Errorf("row outside the range read")
		}
		pix[20+4*x+3] = 255
	}
}

// Close stops the pool's goroutines, and so does dropping the Preprocessor.
func TestWorkersStop(t *testing.T) {
	pre := newPreprocessor(DefaultParams(), 4)
	pool := pre.pool
	if got := pool.workers(); got != 3 {
		t.Fatalf("%d workers after New with 4 bands, want 3 (band 0 runs on the caller)", got)
	}
	pre.Close()
	if got := pool.workers(); got != 0 {
		t.Errorf("%d workers after Close returned, want 0", got)
	}
	pre.Close() // a second Close is harmless

	// A Preprocessor dropped without Close stops its workers once collected.
	dropped := newPreprocessor(DefaultParams(), 4).pool
	deadline := time.Now().Add(30 * time.Second)
	for dropped.workers() != 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := dropped.workers(); got != 0 {
		t.Errorf("%d workers of a dropped Preprocessor after 30 s of collections, want 0", got)
	}
}
