package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/frame"
)

// fileSource replays a video file, once or in a loop.
type fileSource struct {
	cfg    SourceConfig
	camera string
	pool   *frame.Pool
	cap    *gocv.VideoCapture
	mats   matCopier
	pace   pacer
}

func newFileSource(cfg SourceConfig, camera string, pool *frame.Pool) *fileSource {
	return &fileSource{cfg: cfg, camera: camera, pool: pool, pace: newPacer(cfg.FPS)}
}

func (s *fileSource) String() string { return "file " + s.cfg.Path }

func (s *fileSource) Open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.openFile(); err != nil {
		return err
	}
	s.mats.init()
	s.pace.restart()
	return nil
}

func (s *fileSource) openFile() error {
	if _, err := os.Stat(s.cfg.Path); err != nil {
		return fmt.Errorf("open video file: %w", err)
	}
	cap, err := gocv.VideoCaptureFileWithAPI(s.cfg.Path, gocv.VideoCaptureAny)
	if err != nil {
		cap.Close()
		return fmt.Errorf("open video file %s: no backend can decode it", s.cfg.Path)
	}
	s.cap = cap
	return nil
}

func (s *fileSource) Read(ctx context.Context) (*frame.Frame, error) {
	if s.cap == nil {
		return nil, errors.New("read video file: not open")
	}
	if err := s.pace.wait(ctx); err != nil {
		return nil, err
	}
	if s.cap.Read(&s.mats.mat) {
		return s.mats.toFrame(&s.mats.mat, s.pool, s.camera)
	}
	if !s.cfg.Loop {
		return nil, io.EOF
	}
	// Reopening is the one rewind every container and codec supports.
	s.cap.Close()
	s.cap = nil
	if err := s.openFile(); err != nil {
		return nil, err
	}
	if !s.cap.Read(&s.mats.mat) {
		return nil, fmt.Errorf("read video file %s: no frames", s.cfg.Path)
	}
	return s.mats.toFrame(&s.mats.mat, s.pool, s.camera)
}

func (s *fileSource) Close() error {
	if s.cap != nil {
		s.cap.Close()
		s.cap = nil
	}
	s.mats.close()
	return nil
}
