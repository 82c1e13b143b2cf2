package capture

import (
	"context"
	"errors"
	"fmt"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/frame"
)

// gstreamerSource reads a GStreamer pipeline that ends in an appsink, e.g.
// a GigE Vision camera through aravissrc.
type gstreamerSource struct {
	cfg    SourceConfig
	camera string
	pool   *frame.Pool
	cap    *gocv.VideoCapture
	mats   matCopier
}

func newGStreamerSource(cfg SourceConfig, camera string, pool *frame.Pool) *gstreamerSource {
	return &gstreamerSource{cfg: cfg, camera: camera, pool: pool}
}

func (s *gstreamerSource) String() string { return "gstreamer " + s.cfg.Pipeline }

func (s *gstreamerSource) Open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cap, err := gocv.VideoCaptureFileWithAPI(s.cfg.Pipeline, gocv.VideoCaptureGstreamer)
	if err != nil {
		cap.Close()
		return fmt.Errorf("open gstreamer pipeline: OpenCV could not start it (is OpenCV built with GStreamer, and does the pipeline run with gst-launch-1.0?)")
	}
	s.cap = cap
	s.mats.init()
	return nil
}

func (s *gstreamerSource) Read(ctx context.Context) (*frame.Frame, error) {
	if s.cap == nil {
		return nil, errors.New("read gstreamer pipeline: not open")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.cap.Read(&s.mats.mat) {
		return nil, errors.New("read gstreamer pipeline: no frame (end of stream or error)")
	}
	return s.mats.toFrame(&s.mats.mat, s.pool, s.camera)
}

func (s *gstreamerSource) Close() error {
	if s.cap != nil {
		s.cap.Close()
		s.cap = nil
	}
	s.mats.close()
	return nil
}
