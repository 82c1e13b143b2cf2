package frame

import "image"

// Orientation says how a camera made a frame's pixels from its source image:
// the ROI crop at (CropX, CropY), then a clockwise rotation, then flips
// (pipeline/capture). The zero value is the identity: the frame is the
// source image.
type Orientation struct {
	CropX, CropY int
	Rotate       int // clockwise degrees: 0, 90, 180, 270
	FlipH, FlipV bool
}

// ToSource maps a box in the pixels of a w x h oriented frame back to the
// source image's pixels: it undoes the flips, the rotation and the crop.
func (o Orientation) ToSource(r image.Rectangle, w, h int) image.Rectangle {
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	if o.FlipH {
		x0, x1 = w-x1, w-x0
	}
	if o.FlipV {
		y0, y1 = h-y1, h-y0
	}
	// The cropped image is cw x ch; a quarter turn swaps the sides.
	cw, ch := w, h
	if o.Rotate == 90 || o.Rotate == 270 {
		cw, ch = h, w
	}
	switch o.Rotate {
	case 90: // oriented (x, y) shows cropped (y, ch-1-x)
		x0, y0, x1, y1 = y0, ch-x1, y1, ch-x0
	case 180: // (cw-1-x, ch-1-y)
		x0, y0, x1, y1 = cw-x1, ch-y1, cw-x0, ch-y0
	case 270: // (cw-1-y, x)
		x0, y0, x1, y1 = cw-y1, x0, cw-y0, x1
	}
	return image.Rect(x0+o.CropX, y0+o.CropY, x1+o.CropX, y1+o.CropY)
}
