package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/frame"
)

// deviceSource reads a V4L2 camera (USB, CSI through V4L2).
type deviceSource struct {
	cfg    SourceConfig
	camera string
	pool   *frame.Pool
	cap    *gocv.VideoCapture
	mats   matCopier
}

func newDeviceSource(cfg SourceConfig, camera string, pool *frame.Pool) *deviceSource {
	return &deviceSource{cfg: cfg, camera: camera, pool: pool}
}

func (s *deviceSource) String() string { return "device " + s.cfg.Device }

func (s *deviceSource) Open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var (
		cap *gocv.VideoCapture
		err error
	)
	if index, aerr := strconv.Atoi(s.cfg.Device); aerr == nil {
		cap, err = gocv.VideoCaptureDeviceWithAPI(index, gocv.VideoCaptureV4L2)
	} else {
		// Check the node first: OpenCV only says that it failed.
		if _, serr := os.Stat(s.cfg.Device); serr != nil {
			return fmt.Errorf("open device: %w", serr)
		}
		cap, err = gocv.VideoCaptureFileWithAPI(s.cfg.Device, gocv.VideoCaptureV4L2)
	}
	if err != nil {
		cap.Close()
		return fmt.Errorf("open device %s: V4L2 could not open it (busy, not a capture device, or no permission)", s.cfg.Device)
	}
	// The pixel format goes first: it decides which sizes and rates exist.
	if s.cfg.FourCC != "" {
		cap.Set(gocv.VideoCaptureFOURCC, cap.ToCodec(s.cfg.FourCC))
	}
	if s.cfg.Width > 0 {
		cap.Set(gocv.VideoCaptureFrameWidth, float64(s.cfg.Width))
		cap.Set(gocv.VideoCaptureFrameHeight, float64(s.cfg.Height))
	}
	if s.cfg.FPS > 0 {
		cap.Set(gocv.VideoCaptureFPS, s.cfg.FPS)
	}
	s.cap = cap
	s.mats.init()
	return nil
}

func (s *deviceSource) Read(ctx context.Context) (*frame.Frame, error) {
	if s.cap == nil {
		return nil, errors.New("read device: not open")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.cap.Read(&s.mats.mat) {
		return nil, fmt.Errorf("read device %s: no frame (unplugged or stopped?)", s.cfg.Device)
	}
	// OpenCV's V4L2 backend gives the driver's buffer time (the end of
	// the exposure's readout, on the monotonic clock) as the position.
	buffer := s.cap.Get(gocv.VideoCapturePosMsec)
	f, err := s.mats.toFrame(&s.mats.mat, s.pool, s.camera)
	if f != nil {
		if t, ok := monotonicToWall(buffer, monotonicNow(), time.Now()); ok {
			f.SourceTime = t
		}
	}
	return f, err
}

func (s *deviceSource) Close() error {
	if s.cap != nil {
		s.cap.Close()
		s.cap = nil
	}
	s.mats.close()
	return nil
}
