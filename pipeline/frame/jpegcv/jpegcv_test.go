package jpegcv

import (
	"bytes"
	"image/jpeg"
	"math"
	"testing"
)

// gradient is a BGR test card: blue rises left to right, red top to bottom.
func gradient(w, h, stride int) []byte {
	pix := make([]byte, h*stride)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			pix[y*stride+3*x] = byte(255 * x / (w - 1))
			pix[y*stride+3*x+1] = 128
			pix[y*stride+3*x+2] = byte(255 * y / (h - 1))
		}
	}
	return pix
}

func TestEncodeKeepsPixelsAndOrientation(t *testing.T) {
	for _, c := range []struct{ w, h, stride, maxSide, wantW, wantH int }{
		{64, 48, 192, 0, 64, 48},
		{64, 48, 200, 0, 64, 48}, // padded rows
		{640, 480, 1920, 320, 320, 240},
		{100, 400, 300, 200, 50, 200},
	} {
		data, err := Encode(gradient(c.w, c.h, c.stride), c.w, c.h, c.stride, c.maxSide, 95)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if b.Dx() != c.wantW || b.Dy() != c.wantH {
			t.Fatalf("%dx%d max %d: got %dx%d, want %dx%d", c.w, c.h, c.maxSide, b.Dx(), b.Dy(), c.wantW, c.wantH)
		}
		// Top-right is blue, bottom-left red (RGB order after decoding).
		r, g, bl, _ := img.At(b.Dx()-1, 0).RGBA()
		if bl>>8 < 200 || r>>8 > 60 || math.Abs(float64(g>>8)-128) > 20 {
			t.Errorf("%dx%d: top-right pixel %d,%d,%d, want blue", c.w, c.h, r>>8, g>>8, bl>>8)
		}
		r, _, bl, _ = img.At(0, b.Dy()-1).RGBA()
		if r>>8 < 200 || bl>>8 > 60 {
			t.Errorf("%dx%d: bottom-left pixel r %d b %d, want red", c.w, c.h, r>>8, bl>>8)
		}
	}
	if _, err := Encode(make([]byte, 10), 64, 48, 192, 0, 90); err == nil {
		t.Error("a short buffer was encoded")
	}
}

func BenchmarkEncode1280x960To1024(b *testing.B) {
	pix := gradient(1280, 960, 3*1280)
	for i := range pix {
		pix[i] ^= byte(i * 2654435761 >> 24) // noise: the encoder's worst case
	}
	for i := 0; i < b.N; i++ {
		if _, err := Encode(pix, 1280, 960, 3*1280, 1024, 85); err != nil {
			b.Fatal(err)
		}
	}
}
