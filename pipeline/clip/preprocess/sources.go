package preprocess

import (
	"encoding/binary"
	"image"
	"image/color"
)

// rowSource hands the resampler one source row at a time, in the layout the
// plan was set up with. Columns are indexed from the image's left edge; only
// columns [lo, hi) need to be valid. A source that converts pixels writes
// them into the calling band's scratch.
type rowSource interface {
	row(y, lo, hi int, scratch *bandScratch) []byte
}

// bandScratch is the working memory of one band of a pass.
type bandScratch struct {
	row    []byte  // one converted source row
	acc    []int32 // vertical pass sums for one output row
	cb, cr []int32 // chroma column sums for fancy upsampling
}

// byteRows is pixel data that is already in the resampler's layout.
type byteRows struct {
	pix    []byte
	stride int
	width  int // in bytes
}

func (s *byteRows) row(y, _, _ int, _ *bandScratch) []byte {
	return s.pix[y*s.stride : y*s.stride+s.width]
}

// premultipliedRows premultiplies straight-alpha RGBA rows (image.NRGBA).
type premultipliedRows struct{ byteRows }

func (s *premultipliedRows) row(y, lo, hi int, scratch *bandScratch) []byte {
	in, out := s.byteRows.row(y, lo, hi, nil), scratch.row
	for x := lo; x < hi; x++ {
		p, q := in[4*x:4*x+4], out[4*x:4*x+4]
		a := p[3]
		q[0], q[1], q[2], q[3] = premultiply(p[0], a), premultiply(p[1], a), premultiply(p[2], a), a
	}
	return out
}

// genericRows reads any image.Image through its colour model as 8-bit RGBA,
// premultiplied for resampling, or straight when the image is not resized.
type genericRows struct {
	img      image.Image
	straight bool
}

func (s *genericRows) row(y, lo, hi int, scratch *bandScratch) []byte {
	b, out := s.img.Bounds(), scratch.row
	for x := lo; x < hi; x++ {
		c := color.NRGBAModel.Convert(s.img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
		q := out[4*x : 4*x+4]
		if s.straight {
			q[0], q[1], q[2], q[3] = c.R, c.G, c.B, c.A
			continue
		}
		q[0], q[1], q[2], q[3] = premultiply(c.R, c.A), premultiply(c.G, c.A), premultiply(c.B, c.A), c.A
	}
	return out
}

// imageRows points rows at the pixels of an image with a Pix/Stride layout,
// starting at its bounds' top-left corner.
func imageRows(pix []byte, stride int, offset, width, pixelBytes int) byteRows {
	return byteRows{pix: pix[offset:], stride: stride, width: width * pixelBytes}
}

// opaqueAlpha reports whether every alpha byte of a 4-byte-per-pixel image is
// 255, reading only rows [y0, y1) and columns [x0, x1), two pixels at a time.
func opaqueAlpha(rows *byteRows, x0, x1, y0, y1 int) bool {
	const alphas = 0xff000000_ff000000
	for y := y0; y < y1; y++ {
		r := rows.pix[y*rows.stride+4*x0 : y*rows.stride+4*x1]
		for ; len(r) >= 8; r = r[8:] {
			if binary.LittleEndian.Uint64(r)&alphas != alphas {
				return false
			}
		}
		if len(r) == 4 && r[3] != 255 {
			return false
		}
	}
	return true
}
