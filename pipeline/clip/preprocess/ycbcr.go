package preprocess

import "image"

// JPEG images reach this package as image.YCbCr, but the reference decodes
// them with libjpeg, which upsamples chroma with a triangle filter ("fancy
// upsampling") and converts with integer tables. Doing the same here keeps
// the tensor close to the reference; what remains is the IDCT, where Go's
// decoder and libjpeg can differ by one level now and then.

// yccTables are libjpeg's YCbCr to RGB tables (jdcolor.c, 16 fraction bits).
var yccTables = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	const scaleBits = 16
	const half = 1 << (scaleBits - 1)
	fix := func(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + half) >> scaleBits
		t.cbB[i] = (fix(1.77200)*x + half) >> scaleBits
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + half
	}
	return t
}()

func yccToRGB(y, cb, cr uint8) (r, g, b uint8) {
	t := &yccTables
	yy := int32(y)
	return clampByte(yy + t.crR[cr]), clampByte(yy + (t.cbG[cb]+t.crG[cr])>>16), clampByte(yy + t.cbB[cb])
}

func clampByte(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}

// ycbcrRows converts image.YCbCr rows to RGB.
type ycbcrRows struct {
	img        *image.YCbCr
	hsub, vsub int  // chroma subsampling factors
	fancy      bool // whether libjpeg would use a fancy upsampler
	cw, ch     int  // chroma samples per row and rows of chroma that hold image data
}

func newYCbCrRows(m *image.YCbCr) ycbcrRows {
	s := ycbcrRows{img: m, hsub: 1, vsub: 1}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		s.hsub = 2
	case image.YCbCrSubsampleRatio420:
		s.hsub, s.vsub = 2, 2
	case image.YCbCrSubsampleRatio440:
		s.vsub = 2
	case image.YCbCrSubsampleRatio411:
		s.hsub = 4
	case image.YCbCrSubsampleRatio410:
		s.hsub, s.vsub = 4, 2
	}
	r := m.Rect
	s.cw = ceilDiv(r.Max.X, s.hsub) - r.Min.X/s.hsub
	s.ch = ceilDiv(r.Max.Y, s.vsub) - r.Min.Y/s.vsub
	// libjpeg(-turbo) has triangle filters for 2x horizontal and/or
	// vertical subsampling, the horizontal ones only for rows of more than
	// two chroma samples, and replicates samples otherwise.
	s.fancy = s.hsub <= 2 && s.vsub <= 2 && s.hsub*s.vsub > 1 && (s.hsub == 1 || s.cw > 2)
	return s
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// chromaCol is the chroma column of image column x (relative to the bounds).
func (s *ycbcrRows) chromaCol(x int) int {
	return (s.img.Rect.Min.X+x)/s.hsub - s.img.Rect.Min.X/s.hsub
}

func (s *ycbcrRows) row(y, lo, hi int, sc *bandScratch) []byte {
	m := s.img
	out := sc.row
	luma := m.Y[y*m.YStride:]
	if !s.fancy {
		for x := lo; x < hi; x++ {
			ci := m.COffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)
			out[3*x], out[3*x+1], out[3*x+2] = yccToRGB(luma[x], m.Cb[ci], m.Cr[ci])
		}
		return out
	}

	// Vertical stage: per chroma column, 3 x nearer row + farther row for
	// vertical subsampling (the farther row is the one on this pixel's side,
	// repeated at the image's edges), or the sample itself.
	absY := m.Rect.Min.Y + y
	cy := absY/s.vsub - m.Rect.Min.Y/s.vsub
	far := cy
	if s.vsub == 2 {
		if absY%2 == 0 {
			far = max(cy-1, 0)
		} else {
			far = min(cy+1, s.ch-1)
		}
	}
	k0, k1 := max(s.chromaCol(lo)-1, 0), min(s.chromaCol(hi-1)+2, s.cw)
	near, away := m.Cb[cy*m.CStride:], m.Cb[far*m.CStride:]
	nearR, awayR := m.Cr[cy*m.CStride:], m.Cr[far*m.CStride:]
	cb, cr := sc.cb[:s.cw], sc.cr[:s.cw]
	for k := k0; k < k1; k++ {
		if s.vsub == 2 {
			cb[k] = 3*int32(near[k]) + int32(away[k])
			cr[k] = 3*int32(nearR[k]) + int32(awayR[k])
		} else {
			cb[k], cr[k] = int32(near[k]), int32(nearR[k])
		}
	}

	// Horizontal stage.
	for x := lo; x < hi; x++ {
		var u, v uint8
		switch {
		case s.hsub == 1: // 4:4:0, libjpeg's h1v2 upsampler
			bias := int32(1 + absY%2)
			u, v = uint8((cb[x]+bias)>>2), uint8((cr[x]+bias)>>2)
		case s.vsub == 1: // 4:2:2, h2v1
			k := s.chromaCol(x)
			u, v = h2v1(cb, k, s.leftHalf(x)), h2v1(cr, k, s.leftHalf(x))
		default: // 4:2:0, h2v2
			k := s.chromaCol(x)
			u, v = h2v2(cb, k, s.leftHalf(x)), h2v2(cr, k, s.leftHalf(x))
		}
		out[3*x], out[3*x+1], out[3*x+2] = yccToRGB(luma[x], u, v)
	}
	return out
}

// leftHalf reports whether column x is the left of the two pixels that
// share a chroma sample.
func (s *ycbcrRows) leftHalf(x int) bool { return (s.img.Rect.Min.X+x)%2 == 0 }

// h2v1 weighs a chroma sample 3:1 with its neighbour on the pixel's side; the
// outermost pixels take the edge sample as it is.
func h2v1(c []int32, k int, left bool) uint8 {
	if left {
		if k == 0 {
			return uint8(c[0])
		}
		return uint8((3*c[k] + c[k-1] + 1) >> 2)
	}
	if k == len(c)-1 {
		return uint8(c[k])
	}
	return uint8((3*c[k] + c[k+1] + 2) >> 2)
}

// h2v2 is h2v1 on column sums that already weigh rows 3:1.
func h2v2(c []int32, k int, left bool) uint8 {
	if left {
		if k == 0 {
			return uint8((4*c[0] + 8) >> 4)
		}
		return uint8((3*c[k] + c[k-1] + 8) >> 4)
	}
	if k == len(c)-1 {
		return uint8((4*c[k] + 7) >> 4)
	}
	return uint8((3*c[k] + c[k+1] + 7) >> 4)
}
