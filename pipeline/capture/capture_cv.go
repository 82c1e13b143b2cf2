package capture

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "capture_cv.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"gocv.io/x/gocv"
)

// OpenCV 4.6 property ids that GoCV v0.31 does not name. They only work as
// open parameters.
const (
	propOpenTimeoutMsec gocv.VideoCaptureProperties = 53 // CAP_PROP_OPEN_TIMEOUT_MSEC
	propReadTimeoutMsec gocv.VideoCaptureProperties = 54 // CAP_PROP_READ_TIMEOUT_MSEC
)

// paramCapture is a cv::VideoCapture opened with open parameters.
type paramCapture struct {
	p C.LsCapture
}

// openWithParams opens uri with the backend api and (property, value) pairs.
func openWithParams(uri string, api gocv.VideoCaptureAPI, params ...int) (*paramCapture, error) {
	cURI := C.CString(uri)
	defer C.free(unsafe.Pointer(cURI))
	var cParams *C.int
	if len(params) > 0 {
		ps := make([]C.int, len(params)) // plain ints: cgo may pass Go memory
		for i, v := range params {
			ps[i] = C.int(v)
		}
		cParams = &ps[0]
	}
	var msg [256]C.char
	p := C.LsCaptureOpen(cURI, C.int(api), cParams, C.int(len(params)), &msg[0], C.int(len(msg)))
	if p == nil {
		return nil, errors.New(C.GoString(&msg[0]))
	}
	return &paramCapture{p: p}, nil
}

func (c *paramCapture) Read(m *gocv.Mat) bool {
	return C.LsCaptureRead(c.p, unsafe.Pointer(m.Ptr())) != 0
}

func (c *paramCapture) Get(prop gocv.VideoCaptureProperties) float64 {
	return float64(C.LsCaptureGet(c.p, C.int(prop)))
}

func (c *paramCapture) Close() error {
	if c.p == nil {
		return errors.New("capture already closed")
	}
	C.LsCaptureRelease(c.p)
	c.p = nil
	return nil
}
