// Package cvmat feeds OpenCV frames (GoCV Mats) to the CLIP preprocessing
// without copying their pixels, and loads image files with OpenCV's JPEG
// decoder.
//
// JPEG files are decoded with OpenCV (LoadImageFile) rather than image/jpeg
// because OpenCV decodes them with libjpeg-turbo, the decoder Pillow uses
// under OpenAI's reference transform, and both leave libjpeg at its
// defaults: the accurate integer IDCT and fancy (triangle-filter) chroma
// upsampling. Go's decoder runs a different IDCT, which moves decoded values
// by up to 3 levels and the CLIP tensor by up to about 0.06. Decoded by
// OpenCV, JPEG files written by Go's encoder and by libjpeg (4:4:4, 4:2:2,
// 4:2:0 and grey, from 1x1 to 1920x1080) give exactly Pillow's pixels and
// exactly Pillow's tensor (TestJPEGMatchesPillow). Neither applies the EXIF
// orientation. PNG, GIF and four-component (CMYK) JPEG files keep the
// decoders of preprocess.LoadImageFile.
package cvmat

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "matdata.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/clip/preprocess"
)

// Into writes the CLIP tensor of m into dst (see preprocess.Preprocessor).
// m must be CV_8UC3 (BGR, as OpenCV captures), CV_8UC1 (grey) or CV_8UC4
// (BGRA, alpha ignored). The pixels are read in place, through the Mat's row
// step, so a region of interest of a larger frame works without a copy; m
// must stay alive and unchanged until Into returns.
func Into(p *preprocess.Preprocessor, m gocv.Mat, dst []float32) error {
	if m.Empty() {
		return errors.New("preprocess mat: empty Mat")
	}
	var frame func(pix []byte, width, height, stride int, dst []float32) error
	bytesPerPixel := 0
	switch t := m.Type(); t {
	case gocv.MatTypeCV8UC3:
		frame, bytesPerPixel = p.BGR, 3
	case gocv.MatTypeCV8UC1:
		frame, bytesPerPixel = p.Gray, 1
	case gocv.MatTypeCV8UC4:
		frame, bytesPerPixel = p.BGRA, 4
	default:
		return fmt.Errorf("preprocess mat: type %v is not supported; want CV8UC3 (BGR), CV8UC1 (grey) or CV8UC4 (BGRA)", t)
	}
	rows, cols, step := m.Rows(), m.Cols(), m.Step()
	data := C.linesight_mat_data(unsafe.Pointer(m.Ptr()))
	if data == nil {
		return errors.New("preprocess mat: Mat has no data")
	}
	pix := unsafe.Slice((*byte)(unsafe.Pointer(data)), (rows-1)*step+cols*bytesPerPixel)
	if err := frame(pix, cols, rows, step, dst); err != nil {
		return fmt.Errorf("preprocess mat of %dx%d: %w", cols, rows, err)
	}
	return nil
}
