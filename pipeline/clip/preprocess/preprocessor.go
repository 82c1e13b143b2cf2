package preprocess

import (
	"fmt"
	"image"
	"runtime"
)

// Preprocessor turns images into normalised CHW float32 tensors. It keeps its
// coefficients and scratch buffers between calls, so a stream of same-sized
// frames is processed without allocating, and it resamples large frames on a
// pool of goroutines owned by it.
//
// A Preprocessor is not safe for concurrent calls; use one per goroutine.
// Close stops its goroutines (they are also stopped once the Preprocessor is
// garbage collected).
type Preprocessor struct {
	params Params
	lut    [3][256]float32 // normalised value of every 8-bit level per channel
	pool   *workerPool

	plan    plan
	layout  layout
	source  rowSource
	dst     []float32
	bands   []bandScratch
	between []byte // horizontal pass output: rows [rowLo, rowHi) of the kept columns

	// Source indices of the kept columns and rows for palette images.
	nearestCols, nearestRows []int

	// The sources, kept here so that pointing p.source at one allocates nothing.
	bytes   byteRows
	premul  premultipliedRows
	ycbcr   ycbcrRows
	generic genericRows

	// Band functions bound once, so handing them to the pool allocates nothing.
	horizontalBand, verticalBand bandFunc
}

// maxBands caps the goroutines of one Preprocessor.
const maxBands = 8

// parallelWork is the number of multiply-adds in a pass below which splitting
// it over goroutines costs more than it saves.
const parallelWork = 1 << 20

// New makes a Preprocessor for p, which must be valid (see Params.Validate);
// New panics otherwise, as the parameters are fixed by the model bundle.
func New(p Params) *Preprocessor {
	return newPreprocessor(p, min(runtime.GOMAXPROCS(0), maxBands))
}

func newPreprocessor(p Params, bands int) *Preprocessor {
	if err := p.Validate(); err != nil {
		panic("preprocess: invalid parameters: " + err.Error())
	}
	pre := &Preprocessor{params: p, pool: newWorkerPool(bands)}
	pre.bands = make([]bandScratch, pre.pool.bands)
	pre.horizontalBand = pre.horizontal
	pre.verticalBand = pre.vertical
	for c := range 3 {
		for v := range 256 {
			pre.lut[c][v] = normalise(uint8(v), p.Mean[c], p.Std[c])
		}
	}
	runtime.AddCleanup(pre, func(pool *workerPool) { pool.close() }, pre.pool)
	return pre
}

// normalise is torchvision's ToTensor then Normalize on one value, in
// float32 step by step: v/255, minus the mean, divided by the std.
func normalise(v uint8, mean, std float32) float32 {
	scaled := float32(v) / 255
	centred := float32(scaled - mean)
	return centred / std
}

// Params returns the parameters the Preprocessor was made with.
func (p *Preprocessor) Params() Params { return p.params }

// Close stops the Preprocessor's goroutines. It must not be used afterwards.
func (p *Preprocessor) Close() { p.pool.close() }

// Image writes the tensor of img into dst, which must hold exactly
// Params.TensorLen values. Images of type *image.RGBA, *image.NRGBA,
// *image.Gray, *image.Paletted and *image.YCbCr take fast paths; any other
// image is read through its colour model (and allocates as it does).
func (p *Preprocessor) Image(img image.Image, dst []float32) error {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if err := p.check(w, h, dst); err != nil {
		return err
	}
	p.plan.update(p.params, w, h)
	pl := &p.plan
	switch m := img.(type) {
	case *image.Paletted:
		p.nearestPaletted(m, dst)
		return nil
	case *image.Gray:
		p.bytes = imageRows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, 1)
		p.run(&p.bytes, layoutGray, dst)
	case *image.RGBA:
		// Go keeps RGBA premultiplied already; only resampling fully opaque
		// pixels can skip the alpha channel.
		p.bytes = imageRows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, 4)
		if opaqueAlpha(&p.bytes, pl.colLo, pl.colHi, pl.rowLo, pl.rowHi) {
			p.run(&p.bytes, layoutRGBX, dst)
		} else {
			p.run(&p.bytes, layoutRGBa, dst)
		}
	case *image.NRGBA:
		p.bytes = imageRows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, 4)
		if !pl.resized() || opaqueAlpha(&p.bytes, pl.colLo, pl.colHi, pl.rowLo, pl.rowHi) {
			// Pillow leaves an unresized image alone, and premultiplying
			// opaque pixels changes nothing: alpha is dropped at the end.
			p.run(&p.bytes, layoutRGBX, dst)
		} else {
			p.premul = premultipliedRows{p.bytes}
			p.run(&p.premul, layoutRGBa, dst)
		}
	case *image.YCbCr:
		p.ycbcr = newYCbCrRows(m)
		p.run(&p.ycbcr, layoutRGB, dst)
	default:
		p.generic = genericRows{img: img, straight: !pl.resized()}
		if p.generic.straight {
			p.run(&p.generic, layoutRGBX, dst)
		} else {
			p.run(&p.generic, layoutRGBa, dst)
		}
	}
	return nil
}

// BGR writes the tensor of an interleaved 8-bit BGR frame (OpenCV's CV_8UC3)
// into dst. stride is the number of bytes from one row to the next.
func (p *Preprocessor) BGR(pix []byte, width, height, stride int, dst []float32) error {
	return p.frame(pix, width, height, stride, layoutBGR, dst)
}

// BGRA writes the tensor of an interleaved 8-bit BGRA frame (CV_8UC4) into
// dst. The alpha byte is ignored, as OpenCV's BGRA to BGR conversion does:
// camera frames carry no transparency.
func (p *Preprocessor) BGRA(pix []byte, width, height, stride int, dst []float32) error {
	return p.frame(pix, width, height, stride, layoutBGRX, dst)
}

// Gray writes the tensor of an 8-bit grey frame (CV_8UC1) into dst.
func (p *Preprocessor) Gray(pix []byte, width, height, stride int, dst []float32) error {
	return p.frame(pix, width, height, stride, layoutGray, dst)
}

func (p *Preprocessor) frame(pix []byte, width, height, stride int, l layout, dst []float32) error {
	if err := p.check(width, height, dst); err != nil {
		return err
	}
	if stride < width*l.pixelBytes {
		return fmt.Errorf("frame stride %d is less than a row of %d pixels of %d bytes", stride, width, l.pixelBytes)
	}
	if need := (height-1)*stride + width*l.pixelBytes; len(pix) < need {
		return fmt.Errorf("frame of %dx%d with stride %d needs %d bytes, got %d", width, height, stride, need, len(pix))
	}
	p.plan.update(p.params, width, height)
	p.bytes = byteRows{pix: pix, stride: stride, width: width * l.pixelBytes}
	p.run(&p.bytes, l, dst)
	return nil
}

func (p *Preprocessor) check(w, h int, dst []float32) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image of %dx%d has no pixels", w, h)
	}
	if want := p.params.TensorLen(); len(dst) != want {
		return fmt.Errorf("tensor buffer holds %d values, want %d (3x%dx%d)", len(dst), want, p.params.CropHeight, p.params.CropWidth)
	}
	return nil
}
