package capture

import (
	"errors"
	"fmt"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/frame"
)

// videoCapture is what the OpenCV sources need of a capture handle: GoCV's
// VideoCapture, or paramCapture where open parameters are needed.
type videoCapture interface {
	Read(m *gocv.Mat) bool
	Get(prop gocv.VideoCaptureProperties) float64
	Close() error
}

// matCopier copies decoded images into pooled frames, converting grey and
// BGRA images to BGR. Its Mats are reused from frame to frame.
type matCopier struct {
	mat  gocv.Mat // what the backend decodes into
	conv gocv.Mat // colour conversion and continuity fix-ups
	open bool
}

func (m *matCopier) init() {
	if !m.open {
		m.mat, m.conv, m.open = gocv.NewMat(), gocv.NewMat(), true
	}
}

func (m *matCopier) close() {
	if m.open {
		m.mat.Close()
		m.conv.Close()
		m.open = false
	}
}

// toFrame copies img into a frame from pool.
func (m *matCopier) toFrame(img *gocv.Mat, pool *frame.Pool, camera string) (*frame.Frame, error) {
	if img.Empty() {
		return nil, errors.New("empty image")
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		switch img.Type() {
		case gocv.MatTypeCV8UC1:
			gocv.CvtColor(*img, &m.conv, gocv.ColorGrayToBGR)
		case gocv.MatTypeCV8UC4:
			gocv.CvtColor(*img, &m.conv, gocv.ColorBGRAToBGR)
		default:
			return nil, fmt.Errorf("unsupported image type %v (want 8-bit grey, BGR or BGRA)", img.Type())
		}
		img = &m.conv
	} else if !img.IsContinuous() {
		img.CopyTo(&m.conv)
		img = &m.conv
	}
	data, err := img.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	w, h := img.Cols(), img.Rows()
	f := pool.Get(w, h, w*3)
	copy(f.Pix, data[:w*h*3])
	f.Camera = camera
	return f, nil
}
