package preprocess

import (
	"image"
	"math/rand/v2"
	"testing"
)

func benchmarkImage(b *testing.B, bands int, img image.Image) {
	pre := newPreprocessor(DefaultParams(), bands)
	defer pre.Close()
	dst := make([]float32, pre.Params().TensorLen())
	b.ReportAllocs()
	for b.Loop() {
		if err := pre.Image(img, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkBGR(b *testing.B, bands int) {
	rng := rand.New(rand.NewPCG(1, 1))
	pix, stride := toBGR(opaqueRGBA(rng, 1920, 1080), 3, 0)
	pre := newPreprocessor(DefaultParams(), bands)
	defer pre.Close()
	dst := make([]float32, pre.Params().TensorLen())
	b.ReportAllocs()
	for b.Loop() {
		if err := pre.BGR(pix, 1920, 1080, stride, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// A 1080p frame to a 224 px tensor, on all cores (New's default) and on one.
func BenchmarkRGBA1080p(b *testing.B) {
	benchmarkImage(b, New(DefaultParams()).pool.bands, opaqueRGBA(rand.New(rand.NewPCG(1, 1)), 1920, 1080))
}

func BenchmarkRGBA1080pOneCore(b *testing.B) {
	benchmarkImage(b, 1, opaqueRGBA(rand.New(rand.NewPCG(1, 1)), 1920, 1080))
}

func BenchmarkBGR1080p(b *testing.B) { benchmarkBGR(b, New(DefaultParams()).pool.bands) }

func BenchmarkBGR1080pOneCore(b *testing.B) { benchmarkBGR(b, 1) }

func BenchmarkNRGBAWithAlpha1080p(b *testing.B) {
	benchmarkImage(b, New(DefaultParams()).pool.bands, randomImage(rand.New(rand.NewPCG(1, 1)), "RGBA", 1920, 1080))
}

func BenchmarkYCbCr1080p(b *testing.B) {
	m := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
	benchmarkImage(b, New(DefaultParams()).pool.bands, m)
}
