package preprocess

// SourceWindow is the part of a w x h image that the model's input shows,
// in the image's pixel coordinates: the centre crop mapped back through the
// resize. (x, y) is its top-left corner; it reaches outside the image where
// the crop is larger than the resized image (zero padding). A patch grid
// over the model's input covers exactly this window, so an anomaly map is
// placed on the image by stretching it over the window.
func (p Params) SourceWindow(w, h int) (x, y, width, height float64) {
	rw, rh := p.resizedSize(w, h)
	sx, sy := float64(w)/float64(rw), float64(h)/float64(rh)
	left, top := cropOffset(rw, p.CropWidth), cropOffset(rh, p.CropHeight)
	return float64(left) * sx, float64(top) * sy, float64(p.CropWidth) * sx, float64(p.CropHeight) * sy
}
