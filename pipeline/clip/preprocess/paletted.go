package preprocess

import (
	"image"
	"image/color"
)

// nearestPaletted handles palette images, which Pillow always resizes with
// nearest-neighbour on the palette indices before converting to RGB.
func (p *Preprocessor) nearestPaletted(m *image.Paletted, dst []float32) {
	pl := &p.plan
	p.dst = dst
	defer p.release()
	var palette [256][3]uint8 // entries the image lacks stay black, as Go's PNG decoder makes them
	for i, c := range m.Palette {
		if i < len(palette) {
			palette[i] = straightRGB(c)
		}
	}
	if pl.padded(p.params) {
		p.fillPadding(palette[0])
	}
	cols := nearestIndices(p.plan.srcW, pl.resW, pl.x0, pl.x1, &p.nearestCols)
	rows := nearestIndices(p.plan.srcH, pl.resH, pl.y0, pl.y1, &p.nearestRows)
	width := p.params.CropWidth
	plane := p.params.CropHeight * width
	b := m.Rect
	for i, sy := range rows {
		in := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+sy):]
		base := (pl.dstY+i)*width + pl.dstX
		for j, sx := range cols {
			c := palette[in[sx]]
			p.dst[base+j] = p.lut[0][c[0]]
			p.dst[plane+base+j] = p.lut[1][c[1]]
			p.dst[2*plane+base+j] = p.lut[2][c[2]]
		}
	}
}

// nearestIndices lists the source index of each output position in
// [from, to) of a nearest-neighbour resize from inSize to outSize. Pillow
// steps a float64 position by the scale from one output to the next, so the
// indices are accumulated the same way. buf is reused between calls.
func nearestIndices(inSize, outSize, from, to int, buf *[]int) []int {
	out := grow(*buf, to-from)
	*buf = out
	scale := float64(inSize) / float64(outSize)
	pos := scale * 0.5
	for i := range to {
		if i >= from {
			out[i-from] = min(max(int(pos), 0), inSize-1)
		}
		pos += scale
	}
	return out
}

// straightRGB is a palette entry's colour without alpha, as Pillow's P to RGB
// conversion reads it.
func straightRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 255 {
			return [3]uint8{c.R, c.G, c.B}
		}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}
