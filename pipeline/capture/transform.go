package capture

import (
	"fmt"

	"github.com/linesight/linesight/pipeline/frame"
)

// orientation is a camera's crop, rotation and flip, applied in that order.
type orientation struct {
	roi    *Rect
	rotate int // clockwise degrees: 0, 90, 180, 270
	flipH  bool
	flipV  bool
}

func newOrientation(cfg CameraConfig) orientation {
	return orientation{
		roi:    cfg.ROI,
		rotate: cfg.Rotate,
		flipH:  cfg.Flip == FlipHorizontal || cfg.Flip == FlipBoth,
		flipV:  cfg.Flip == FlipVertical || cfg.Flip == FlipBoth,
	}
}

func (o orientation) identity() bool {
	return o.roi == nil && o.rotate == 0 && !o.flipH && !o.flipV
}

// crop is the part of a w x h source image that is kept: the ROI clipped
// to the image.
func (o orientation) crop(w, h int) (x, y, cw, ch int, err error) {
	if o.roi == nil {
		return 0, 0, w, h, nil
	}
	r := o.roi
	x0, y0 := max(r.X, 0), max(r.Y, 0)
	x1, y1 := min(r.X+r.Width, w), min(r.Y+r.Height, h)
	if x1 <= x0 || y1 <= y0 {
		return 0, 0, 0, 0, fmt.Errorf("roi %d,%d %dx%d lies outside the %dx%d image", r.X, r.Y, r.Width, r.Height, w, h)
	}
	return x0, y0, x1 - x0, y1 - y0, nil
}

// outputSize is the size of the oriented image of a w x h source image.
func (o orientation) outputSize(w, h int) (int, int, error) {
	_, _, cw, ch, err := o.crop(w, h)
	if err != nil {
		return 0, 0, err
	}
	if o.rotate == 90 || o.rotate == 270 {
		return ch, cw, nil
	}
	return cw, ch, nil
}

// apply writes the oriented src into dst, whose size is outputSize. The
// mapping from output to source pixels is affine, so each output pixel is
// one step along a source row or column from the last: no per-frame
// allocation, and a plain row copy when nothing turns.
func (o orientation) apply(dst, src *frame.Frame) error {
	cx, cy, cw, ch, err := o.crop(src.Width, src.Height)
	if err != nil {
		return err
	}
	ow, oh := dst.Width, dst.Height
	// sourceOf maps an output pixel to a pixel of the cropped image: undo
	// the flip, then the rotation.
	sourceOf := func(x, y int) (int, int) {
		if o.flipH {
			x = ow - 1 - x
		}
		if o.flipV {
			y = oh - 1 - y
		}
		switch o.rotate {
		case 90:
			return y, ch - 1 - x
		case 180:
			return cw - 1 - x, ch - 1 - y
		case 270:
			return cw - 1 - y, x
		}
		return x, y
	}
	offset := func(x, y int) int { return (cy+y)*src.Stride + (cx+x)*3 }
	sx, sy := sourceOf(0, 0)
	origin := offset(sx, sy)
	sx, sy = sourceOf(1, 0)
	stepX := offset(sx, sy) - origin
	sx, sy = sourceOf(0, 1)
	stepY := offset(sx, sy) - origin

	for y := 0; y < oh; y++ {
		s := origin + y*stepY
		row := dst.Pix[y*dst.Stride : y*dst.Stride+ow*3]
		if stepX == 3 {
			copy(row, src.Pix[s:s+ow*3])
			continue
		}
		for i := 0; i < len(row); i, s = i+3, s+stepX {
			row[i], row[i+1], row[i+2] = src.Pix[s], src.Pix[s+1], src.Pix[s+2]
		}
	}
	return nil
}

// frameOrientation is what a frame oriented from a w x h source image
// carries so that its pixels can be mapped back to the source's.
func (o orientation) frameOrientation(w, h int) frame.Orientation {
	x, y, _, _, _ := o.crop(w, h)
	return frame.Orientation{CropX: x, CropY: y, Rotate: o.rotate, FlipH: o.flipH, FlipV: o.flipV}
}
