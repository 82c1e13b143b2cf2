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

func horizontal1(out, in []byte, c *axisCoeffs) {
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
	for i, first := range c.first {
		ws := c.weights[i*c.ksize : i*c.ksize+c.count[i]]
		px := in[first*pixelBytes : (first+len(ws))*pixelBytes]
		s0, s1, s2 := int32(roundingHalf), int32(roundingHalf), int32(roundingHalf)
		for k, w := range ws {
			q := px[k*pixelBytes : k*pixelBytes+3]
			s0 += int32(q[0]) * w
			s1 += int32(q[1]) * w
			s2 += int32(q[2]) * w
		}
		o := out[3*i : 3*i+3]
		o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

func horizontal4(out, in []byte, c *axisCoeffs) {
	for i, first := range c.first {
		ws := c.weights[i*c.ksize : i*c.ksize+c.count[i]]
		px := in[first*4 : (first+len(ws))*4]
		s0, s1, s2, s3 := int32(roundingHalf), int32(roundingHalf), int32(roundingHalf), int32(roundingHalf)
		for k, w := range ws {
			q := px[4*k : 4*k+4]
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
