package preprocess

// plan is the geometry of one input size: which resized pixels the crop keeps
// and the coefficients that compute them. It is rebuilt only when the input
// size changes, so a stream of same-sized frames reuses it.
type plan struct {
	srcW, srcH int
	resW, resH int
	// The kept window of the resized image, [x0, x1) x [y0, y1), lands at
	// (dstX, dstY) in the crop; the rest of the crop is zero padding.
	x0, x1, y0, y1 int
	dstX, dstY     int
	horiz, vert    axisCoeffs
	// Source rows and columns that the kept window reads.
	rowLo, rowHi int
	colLo, colHi int
}

func (pl *plan) update(p Params, w, h int) {
	if pl.srcW == w && pl.srcH == h {
		return
	}
	pl.srcW, pl.srcH = w, h
	pl.resW, pl.resH = p.resizedSize(w, h)
	left := cropOffset(pl.resW, p.CropWidth)
	top := cropOffset(pl.resH, p.CropHeight)
	pl.x0, pl.x1 = max(left, 0), min(left+p.CropWidth, pl.resW)
	pl.y0, pl.y1 = max(top, 0), min(top+p.CropHeight, pl.resH)
	pl.dstX, pl.dstY = pl.x0-left, pl.y0-top

	pl.horiz.compute(w, pl.resW, pl.x0, pl.x1-pl.x0)
	pl.vert.compute(h, pl.resH, pl.y0, pl.y1-pl.y0)
	pl.colLo, pl.colHi = pl.horiz.span()
	pl.rowLo, pl.rowHi = pl.vert.span()
	// The horizontal pass produces only rows [rowLo, rowHi); index the
	// vertical pass's reads from there.
	for i := range pl.vert.first {
		pl.vert.first[i] -= pl.rowLo
	}
}

// resized reports whether the image changes size at all. Pillow returns an
// unchanged copy otherwise, without premultiplying alpha.
func (pl *plan) resized() bool { return pl.resW != pl.srcW || pl.resH != pl.srcH }

// padded reports whether part of the crop lies outside the resized image.
func (pl *plan) padded(p Params) bool {
	return pl.x1-pl.x0 != p.CropWidth || pl.y1-pl.y0 != p.CropHeight
}
