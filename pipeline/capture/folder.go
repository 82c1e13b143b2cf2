package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/frame"
)

// imageExtensions are the files a folder source replays.
var imageExtensions = []string{".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

// folderSource replays the images of a directory in name order, once or in
// a loop. The list is read when the source opens.
type folderSource struct {
	cfg    SourceConfig
	camera string
	pool   *frame.Pool
	files  []string
	next   int
	mats   matCopier
	pace   pacer
}

func newFolderSource(cfg SourceConfig, camera string, pool *frame.Pool) *folderSource {
	return &folderSource{cfg: cfg, camera: camera, pool: pool, pace: newPacer(cfg.FPS)}
}

func (s *folderSource) String() string { return "folder " + s.cfg.Path }

func (s *folderSource) Open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(s.cfg.Path)
	if err != nil {
		return fmt.Errorf("open image folder: %w", err)
	}
	s.files = s.files[:0]
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && containsString(imageExtensions, ext) {
			s.files = append(s.files, filepath.Join(s.cfg.Path, e.Name()))
		}
	}
	if len(s.files) == 0 {
		return fmt.Errorf("open image folder %s: no images (%s)", s.cfg.Path, strings.Join(imageExtensions, ", "))
	}
	sort.Strings(s.files)
	s.next = 0
	s.mats.init()
	s.pace.restart()
	return nil
}

// Read decodes the next image. Images that cannot be decoded are skipped
// with a warning, so one bad file does not stop a replay.
func (s *folderSource) Read(ctx context.Context) (*frame.Frame, error) {
	if len(s.files) == 0 {
		return nil, errors.New("read image folder: not open")
	}
	if err := s.pace.wait(ctx); err != nil {
		return nil, err
	}
	for skipped := 0; skipped < len(s.files); skipped++ {
		if s.next == len(s.files) {
			if !s.cfg.Loop {
				return nil, io.EOF
			}
			s.next = 0
		}
		path := s.files[s.next]
		s.next++
		img := gocv.IMRead(path, gocv.IMReadColor)
		f, err := s.mats.toFrame(&img, s.pool, s.camera)
		img.Close()
		if err == nil {
			return f, nil
		}
		slog.Warn("skip unreadable image", "camera", s.camera, "path", path, "error", err)
	}
	return nil, fmt.Errorf("read image folder %s: no image could be decoded", s.cfg.Path)
}

func (s *folderSource) Close() error {
	s.files = s.files[:0]
	s.mats.close()
	return nil
}
