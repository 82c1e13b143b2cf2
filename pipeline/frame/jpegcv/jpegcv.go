// Package jpegcv encodes BGR frames as JPEG with OpenCV (libjpeg-turbo, SIMD):
// several times faster than image/jpeg, which matters where every failed
// part's picture is kept.
package jpegcv

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// Encode scales an 8-bit BGR image so its longer side is at most maxSide (0
// keeps the size; an area filter, so no aliasing) and encodes it at the
// given quality (1..100).
func Encode(pix []byte, width, height, stride, maxSide, quality int) ([]byte, error) {
	if width <= 0 || height <= 0 || stride < 3*width || len(pix) < (height-1)*stride+3*width {
		return nil, fmt.Errorf("encode JPEG: %dx%d stride %d with %d bytes is not a BGR image", width, height, stride, len(pix))
	}
	if stride != 3*width {
		packed := make([]byte, 3*width*height)
		for y := 0; y < height; y++ {
			copy(packed[y*3*width:(y+1)*3*width], pix[y*stride:])
		}
		pix = packed
	}
	src, err := gocv.NewMatFromBytes(height, width, gocv.MatTypeCV8UC3, pix[:3*width*height])
	if err != nil {
		return nil, fmt.Errorf("encode JPEG: %w", err)
	}
	defer src.Close()
	img := src
	if w, h := scaled(width, height, maxSide); w != width || h != height {
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(src, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
		img = small
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, fmt.Errorf("encode JPEG: %w", err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), nil
}

// ScaledSize is the size Encode scales a w x h image to for maxSide.
func ScaledSize(w, h, maxSide int) (int, int) { return scaled(w, h, maxSide) }

// scaled is the size whose longer side is at most maxSide, keeping the
// aspect ratio.
func scaled(w, h, maxSide int) (int, int) {
	if maxSide <= 0 || max(w, h) <= maxSide {
		return w, h
	}
	if w >= h {
		return maxSide, max(1, h*maxSide/w)
	}
	return max(1, w*maxSide/h), maxSide
}
