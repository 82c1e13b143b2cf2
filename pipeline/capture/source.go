// Package capture turns cameras into frames: sources for V4L2 devices,
// network streams, GStreamer pipelines, video files, image folders and a
// synthetic production line, and the Camera that runs one of them with a
// watchdog, reconnects, and applies the camera's crop, rotation and flip.
package capture

import (
	"context"
	"fmt"

	"github.com/linesight/linesight/pipeline/capture/synthetic"
	"github.com/linesight/linesight/pipeline/frame"
)

// Source produces frames. A Source is used by one goroutine at a time; the
// Camera opens it, reads until something goes wrong, closes it and may open
// it again.
type Source interface {
	// Open connects to the camera, stream or file.
	Open(ctx context.Context) error
	// Read returns the next frame: 8-bit BGR pixels in a frame from the
	// source's pool, which the caller releases. It returns io.EOF at the end
	// of a finite source. It returns soon after ctx is cancelled; sources
	// that block in C bound the wait with their backend's timeouts instead.
	Read(ctx context.Context) (*frame.Frame, error)
	// Close releases the camera. Calling it on a closed source is harmless.
	Close() error
	// String names the source for logs, without credentials.
	String() string
}

// The synthetic line is a Source without depending on this package.
var _ Source = (*synthetic.Line)(nil)

// New makes the source described by cfg for the named camera. Frames come
// from pool.
func New(cfg SourceConfig, camera string, pool *frame.Pool) (Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("camera %q: source: %w", camera, err)
	}
	cfg = cfg.withDefaults()
	switch cfg.Kind {
	case KindDevice:
		return newDeviceSource(cfg, camera, pool), nil
	case KindStream:
		return newStreamSource(cfg, camera, pool), nil
	case KindGStreamer:
		return newGStreamerSource(cfg, camera, pool), nil
	case KindFile:
		return newFileSource(cfg, camera, pool), nil
	case KindFolder:
		return newFolderSource(cfg, camera, pool), nil
	default: // KindSynthetic; Validate rejected everything else
		line, err := synthetic.NewLine(cfg.syntheticConfig(), camera, pool)
		if err != nil {
			return nil, fmt.Errorf("camera %q: source: %w", camera, err)
		}
		return line, nil
	}
}
