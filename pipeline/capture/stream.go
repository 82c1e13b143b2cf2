package capture

import (
	"context"
	"errors"
	"fmt"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/frame"
)

// streamSource reads an RTSP or HTTP stream through OpenCV's FFmpeg backend.
// Open and read timeouts go to FFmpeg's interrupt callback, so a dead
// server or a stream that stops mid-way fails a call instead of hanging it.
type streamSource struct {
	cfg    SourceConfig
	camera string
	pool   *frame.Pool
	cap    videoCapture
	mats   matCopier
}

func newStreamSource(cfg SourceConfig, camera string, pool *frame.Pool) *streamSource {
	return &streamSource{cfg: cfg, camera: camera, pool: pool}
}

func (s *streamSource) String() string { return "stream " + redactURL(s.cfg.URL) }

func (s *streamSource) Open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cap, err := openWithParams(s.cfg.URL, gocv.VideoCaptureFFmpeg,
		int(propOpenTimeoutMsec), int(s.cfg.OpenTimeout.Milliseconds()),
		int(propReadTimeoutMsec), int(s.cfg.ReadTimeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("open stream %s (within %s): %w", redactURL(s.cfg.URL), s.cfg.OpenTimeout, err)
	}
	s.cap = cap
	s.mats.init()
	return nil
}

func (s *streamSource) Read(ctx context.Context) (*frame.Frame, error) {
	if s.cap == nil {
		return nil, errors.New("read stream: not open")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.cap.Read(&s.mats.mat) {
		return nil, fmt.Errorf("read stream %s: no frame within %s or the stream ended", redactURL(s.cfg.URL), s.cfg.ReadTimeout)
	}
	return s.mats.toFrame(&s.mats.mat, s.pool, s.camera)
}

func (s *streamSource) Close() error {
	if s.cap != nil {
		s.cap.Close()
		s.cap = nil
	}
	s.mats.close()
	return nil
}
