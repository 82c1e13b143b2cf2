package preprocess

// Window is the part of a source image that the model's input covers, in
// the source's pixel coordinates (edges, not pixel centres): the crop of the
// resized image, scaled back by the resize. Resizing maps edges linearly, so
// a point at x of the crop lies at X + x*W/CropWidth in the source. Where
// the crop is padded (it is larger than the resized image) the window
// reaches past the image's edges.
type Window struct {
	X, Y, W, H float64
}

// SourceWindow is the window of a w x h source image that the crop covers.
func (p Params) SourceWindow(w, h int) Window {
	rw, rh := p.resizedSize(w, h)
	sx, sy := float64(w)/float64(rw), float64(h)/float64(rh)
	left, top := cropOffset(rw, p.CropWidth), cropOffset(rh, p.CropHeight)
	return Window{
		X: float64(left) * sx, Y: float64(top) * sy,
		W: float64(p.CropWidth) * sx, H: float64(p.CropHeight) * sy,
	}
}

// FromCrop maps a point of the model's input (crop pixels, cropW x cropH)
// to the source image.
func (win Window) FromCrop(x, y float64, cropW, cropH int) (float64, float64) {
	return win.X + x*win.W/float64(cropW), win.Y + y*win.H/float64(cropH)
}
