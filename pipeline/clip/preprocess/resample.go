package preprocess

// run resamples the kept window of the source in two passes, horizontal then
// vertical with uint8 rounding in between as Pillow does, and writes the
// normalised result into dst.
func (p *Preprocessor) run(src rowSource, l layout, dst []float32) {
	pl := &p.plan
	p.source, p.layout, p.dst = src, l, dst
	defer p.release()

	cols := pl.x1 - pl.x0
	rows := pl.rowHi - pl.rowLo
	p.between = grow(p.between, rows*cols*l.channels)
	for i := range p.bands {
		b := &p.bands[i]
		b.row = grow(b.row, pl.srcW*4)
		b.acc = grow(b.acc, cols*l.channels)
		b.cb = grow(b.cb, pl.srcW+1)
		b.cr = grow(b.cr, pl.srcW+1)
	}
	if pl.padded(p.params) {
		p.fillPadding([3]uint8{})
	}

	horizontalWork := rows * cols * pl.horiz.ksize * l.channels
	p.pool.run(rows, horizontalWork < parallelWork, p.horizontalBand)
	outRows := pl.y1 - pl.y0
	verticalWork := outRows * cols * pl.vert.ksize * l.channels
	p.pool.run(outRows, verticalWork < parallelWork, p.verticalBand)
}

// release drops the references to the caller's image and tensor.
func (p *Preprocessor) release() {
	p.source, p.dst = nil, nil
	p.bytes, p.premul, p.ycbcr, p.generic = byteRows{}, premultipliedRows{}, ycbcrRows{}, genericRows{}
}

// fillPadding sets the whole tensor to the colour that the crop takes where
// it reaches outside the resized image: torchvision pads with zero bytes,
// which is black except in a palette image.
func (p *Preprocessor) fillPadding(rgb [3]uint8) {
	plane := p.params.CropHeight * p.params.CropWidth
	for c := range 3 {
		v := p.lut[c][rgb[c]]
		out := p.dst[c*plane : (c+1)*plane]
		for i := range out {
			out[i] = v
		}
	}
}

// horizontal resamples source rows [rowLo+lo, rowLo+hi) into p.between.
func (p *Preprocessor) horizontal(band, lo, hi int) {
	pl, l := &p.plan, p.layout
	rowBytes := (pl.x1 - pl.x0) * l.channels
	for i := lo; i < hi; i++ {
		in := p.source.row(pl.rowLo+i, pl.colLo, pl.colHi, &p.bands[band])
		out := p.between[i*rowBytes : (i+1)*rowBytes]
		switch l.channels {
		case 1:
			horizontal1(out, in, &pl.horiz)
		case 3:
			horizontal3(out, in, l.pixelBytes, &pl.horiz)
		default:
			horizontal4(out, in, &pl.horiz)
		}
	}
}

// The horizontal kernels take two taps per step with constant offsets, which
// the compiler turns into few bounds checks; the sums equal one-tap-at-a-time
// sums exactly (integer arithmetic).

func horizontal1(out, in []byte, c *axisCoeffs) {
	out = out[:len(c.first)]
	for i, first := range c.first {
		ws := c.weights[i*c.ksize : i*c.ksize+c.count[i]]
		px := in[first : first+len(ws)]
		sum := int32(roundingHalf)
		for k, w := range ws {
			sum += int32(px[k]) * w
		}
		out[i] = clip8(sum)
	}
}

func horizontal3(out, in []byte, pixelBytes int, c *axisCoeffs) {
	if pixelBytes == 4 {
		horizontal3of4(out, in, c)
		return
	}
	out = out[:3*len(c.first)]
	for i, first := range c.first {
		ws := c.weights[i*c.ksize : i*c.ksize+c.count[i]]
		px := in[3*first : 3*(first+len(ws))]
		s0, s1, s2 := int32(roundingHalf), int32(roundingHalf), int32(roundingHalf)
		k := 0
		for ; k+1 < len(ws); k += 2 {
			w0, w1 := ws[k], ws[k+1]
			q := px[3*k : 3*k+6 : 3*k+6]
			s0 += int32(q[0])*w0 + int32(q[3])*w1
			s1 += int32(q[1])*w0 + int32(q[4])*w1
			s2 += int32(q[2])*w0 + int32(q[5])*w1
		}
		if k < len(ws) {
			w, q := ws[k], px[3*k:3*k+3:3*k+3]
			s0 += int32(q[0]) * w
			s1 += int32(q[1]) * w
			s2 += int32(q[2]) * w
		}
		o := out[3*i : 3*i+3]
		o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

// horizontal3of4 resamples the first three bytes of 4-byte pixels.
func horizontal3of4(out, in []byte, c *axisCoeffs) {
	out = out[:3*len(c.first)]
	for i, first := range c.first {
		ws := c.weights[i*c.ksize : i*c.ksize+c.count[i]]
		px := in[4*first : 4*(first+len(ws))]
		s0, s1, s2 := int32(roundingHalf), int32(roundingHalf), int32(roundingHalf)
		k := 0
		for ; k+1 < len(ws); k += 2 {
			w0, w1 := ws[k], ws[k+1]
			q := px[4*k : 4*k+8 : 4*k+8]
			s0 += int32(q[0])*w0 + int32(q[4])*w1
			s1 += int32(q[1])*w0 + int32(q[5])*w1
			s2 += int32(q[2])*w0 + int32(q[6])*w1
		}
		if k < len(ws) {
			w, q := ws[k], px[4*k:4*k+4:4*k+4]
			s0 += int32(q[0]) * w
			s1 += int32(q[1]) * w
			s2 += int32(q[2]) * w
		}
		o := out[3*i : 3*i+3]
		o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

func horizontal4(out, in []byte, c *axisCoeffs) {
	out = out[:4*len(c.first)]
	for i, first := range c.first {
		ws := c.weights[i*c.ksize : i*c.ksize+c.count[i]]
		px := in[4*first : 4*(first+len(ws))]
		s0, s1, s2, s3 := int32(roundingHalf), int32(roundingHalf), int32(roundingHalf), int32(roundingHalf)
		for k, w := range ws {
			q := px[4*k : 4*k+4 : 4*k+4]
			s0 += int32(q[0]) * w
			s1 += int32(q[1]) * w
			s2 += int32(q[2]) * w
			s3 += int32(q[3]) * w
		}
		o := out[4*i : 4*i+4]
		o[0], o[1], o[2], o[3] = clip8(s0), clip8(s1), clip8(s2), clip8(s3)
	}
}

// vertical resamples output rows [lo, hi) of the crop window from p.between
// and writes them, converted to RGB and normalised, into the tensor.
func (p *Preprocessor) vertical(band, lo, hi int) {
	pl, l := &p.plan, p.layout
	cols := pl.x1 - pl.x0
	rowBytes := cols * l.channels
	acc := p.bands[band].acc[:rowBytes]
	c := &pl.vert
	for i := lo; i < hi; i++ {
		for e := range acc {
			acc[e] = roundingHalf
		}
		first := c.first[i]
		for k, w := range c.weights[i*c.ksize : i*c.ksize+c.count[i]] {
			in := p.between[(first+k)*rowBytes : (first+k+1)*rowBytes]
			acc := acc[:len(in)]
			for e, v := range in {
				acc[e] += int32(v) * w
			}
		}
		p.writeRow(pl.dstY+i, acc)
	}
}

// writeRow converts one row of resampled sums to RGB and stores its
// normalised values in the tensor's three planes.
func (p *Preprocessor) writeRow(y int, acc []int32) {
	l := p.layout
	width := p.params.CropWidth
	plane := p.params.CropHeight * width
	base := y*width + p.plan.dstX
	cols := len(acc) / l.channels
	r := p.dst[base : base+cols]
	g := p.dst[plane+base : plane+base+cols]
	b := p.dst[2*plane+base : 2*plane+base+cols]
	var px [4]uint8
	for j := range cols {
		for c := range l.channels {
			px[c] = clip8(acc[j*l.channels+c])
		}
		rv, gv, bv := l.order.toRGB(px[:])
		r[j], g[j], b[j] = p.lut[0][rv], p.lut[1][gv], p.lut[2][bv]
	}
}
