package cvmat

import (
	"image"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
)

// randomFrame is an opaque image and the same pixels as interleaved B, G, R
// (and A) bytes.
func randomFrame(rng *rand.Rand, w, h, pixelBytes int) (*image.RGBA, []byte) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	frame := make([]byte, w*h*pixelBytes)
	for i := range w * h {
		r, g, b := uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))
		copy(img.Pix[4*i:], []byte{r, g, b, 255})
		copy(frame[pixelBytes*i:], []byte{b, g, r})
	}
	return img, frame
}

func tensorOf(t *testing.T, pre *preprocess.Preprocessor, img image.Image) []float32 {
	t.Helper()
	out := make([]float32, pre.Params().TensorLen())
	if err := pre.Image(img, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func intoTensor(t *testing.T, pre *preprocess.Preprocessor, m gocv.Mat) []float32 {
	t.Helper()
	out := make([]float32, pre.Params().TensorLen())
	if err := Into(pre, m, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A Mat made from the same pixels gives the tensor of the image.Image path.
func TestMatMatchesImage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pre := preprocess.New(preprocess.DefaultParams())
	defer pre.Close()

	for _, pixelBytes := range []int{3, 4} {
		img, frame := randomFrame(rng, 640, 480, pixelBytes)
		matType := map[int]gocv.MatType{3: gocv.MatTypeCV8UC3, 4: gocv.MatTypeCV8UC4}[pixelBytes]
		m, err := gocv.NewMatFromBytes(480, 640, matType, frame)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := intoTensor(t, pre, m), tensorOf(t, pre, img); !slices.Equal(got, want) {
			t.Errorf("%v Mat differs from the image", matType)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}

	gray := image.NewGray(image.Rect(0, 0, 333, 251))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(rng.IntN(256))
	}
	m, err := gocv.NewMatFromBytes(251, 333, gocv.MatTypeCV8UC1, gray.Pix)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the grey Mat", &m)
	if !slices.Equal(intoTensor(t, pre, m), tensorOf(t, pre, gray)) {
		t.Error("grey Mat differs from the image")
	}
}

// A region of interest is read in place through its parent's row step.
func TestRegionOfInterest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pre := preprocess.New(preprocess.DefaultParams())
	defer pre.Close()
	img, frame := randomFrame(rng, 800, 600, 3)
	m, err := gocv.NewMatFromBytes(600, 800, gocv.MatTypeCV8UC3, frame)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the Mat", &m)
	roi := image.Rect(101, 37, 601, 437)
	region := m.Region(roi)
	defer testenv.Close(t, "the region", &region)
	if region.IsContinuous() {
		t.Fatal("test needs a non-continuous region")
	}
	if !slices.Equal(intoTensor(t, pre, region), tensorOf(t, pre, img.SubImage(roi))) {
		t.Error("region of interest differs from the same sub-image")
	}
}

func TestUnsupportedMats(t *testing.T) {
	pre := preprocess.New(preprocess.DefaultParams())
	defer pre.Close()
	dst := make([]float32, pre.Params().TensorLen())
	empty := gocv.NewMat()
	defer testenv.Close(t, "the empty Mat", &empty)
	float := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV32FC3)
	defer testenv.Close(t, "the float Mat", &float)
	small := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer testenv.Close(t, "the small Mat", &small)
	for _, tt := range []struct {
		name string
		m    gocv.Mat
		dst  []float32
		want string
	}{
		{"empty", empty, dst, "empty Mat"},
		{"float", float, dst, "CV32FC3 is not supported"},
		{"short tensor", small, dst[:10], "preprocess mat of 10x10: tensor buffer holds 10 values"},
	} {
		err := Into(pre, tt.m, tt.dst)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// Reading a Mat in place costs no allocations once the Preprocessor is warm.
func TestIntoAllocations(t *testing.T) {
	pre := preprocess.New(preprocess.DefaultParams())
	defer pre.Close()
	m := gocv.NewMatWithSize(720, 1280, gocv.MatTypeCV8UC3)
	defer testenv.Close(t, "the Mat", &m)
	dst := make([]float32, pre.Params().TensorLen())
	run := func() {
		if err := Into(pre, m, dst); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if allocs := testing.AllocsPerRun(5, run); allocs != 0 {
		t.Errorf("%v allocations per frame, want 0", allocs)
	}
}
