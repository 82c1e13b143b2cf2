package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The camera's source and supervision keys belong to the capture package.
// These types carry the same YAML keys and rules so the file format does not
// change when they become aliases of capture.SourceConfig and
// capture.CameraConfig.

// SourceConfig is a camera's `source:` block; Kind says which keys apply.
type SourceConfig struct {
	Kind string `yaml:"kind" json:"kind"`

	Device string  `yaml:"device" json:"device,omitempty"` // device: /dev/video0 or an index
	Width  int     `yaml:"width" json:"width,omitempty"`   // device: requested; synthetic: generated
	Height int     `yaml:"height" json:"height,omitempty"` //
	FPS    float64 `yaml:"fps" json:"fps,omitempty"`       // device: requested; file, folder, synthetic: replay rate
	FourCC string  `yaml:"fourcc" json:"fourcc,omitempty"` // device: pixel format such as MJPG

	URL         string        `yaml:"url" json:"url,omitempty"` // stream: rtsp(s):// or http(s)://
	OpenTimeout time.Duration `yaml:"open_timeout" json:"open_timeout,omitempty"`
	ReadTimeout time.Duration `yaml:"read_timeout" json:"read_timeout,omitempty"`

	Pipeline string `yaml:"pipeline" json:"pipeline,omitempty"` // gstreamer: ends in an appsink

	Path string `yaml:"path" json:"path,omitempty"` // file: a video; folder: a directory of images
	Loop bool   `yaml:"loop" json:"loop,omitempty"`

	Seed       int64    `yaml:"seed" json:"seed,omitempty"` // synthetic line
	DefectRate float64  `yaml:"defect_rate" json:"defect_rate,omitempty"`
	PartTypes  []string `yaml:"part_types" json:"part_types,omitempty"`
	Defects    []string `yaml:"defects" json:"defects,omitempty"`
	Frames     uint64   `yaml:"frames" json:"frames,omitempty"`
}

// SourceKinds are the accepted values of source.kind, with the keys each takes.
var SourceKinds = []string{"device", "stream", "gstreamer", "file", "folder", "synthetic"}

var sourceFields = map[string][]string{
	"device":    {"device", "width", "height", "fps", "fourcc"},
	"stream":    {"url", "open_timeout", "read_timeout"},
	"gstreamer": {"pipeline"},
	"file":      {"path", "loop", "fps"},
	"folder":    {"path", "loop", "fps"},
	"synthetic": {"width", "height", "fps", "seed", "defect_rate", "part_types", "defects", "frames"},
}

// Validate reports every problem, each as "key: message".
func (s *SourceConfig) Validate() error {
	accepted, ok := sourceFields[s.Kind]
	if !ok {
		if s.Kind == "" {
			return fmt.Errorf("kind: missing (accepted: %s)", strings.Join(SourceKinds, ", "))
		}
		return fmt.Errorf("kind: unknown kind %q (accepted: %s)", s.Kind, strings.Join(SourceKinds, ", "))
	}
	var errs []error
	for _, f := range s.setFields() {
		if !slices.Contains(accepted, f) {
			errs = append(errs, fmt.Errorf("%s: not used by kind %s (it takes: %s)", f, s.Kind, strings.Join(accepted, ", ")))
		}
	}
	if s.Width < 0 || s.Height < 0 || (s.Width == 0) != (s.Height == 0) {
		errs = append(errs, fmt.Errorf("width: %dx%d: set both width and height, positive, or neither", s.Width, s.Height))
	}
	if s.FPS < 0 {
		errs = append(errs, fmt.Errorf("fps: %g is negative", s.FPS))
	}
	if s.OpenTimeout < 0 || s.ReadTimeout < 0 {
		errs = append(errs, errors.New("open_timeout: timeouts must not be negative"))
	}
	if s.DefectRate < 0 || s.DefectRate > 1 {
		errs = append(errs, fmt.Errorf("defect_rate: %g is out of range (accepted: 0 to 1)", s.DefectRate))
	}
	switch s.Kind {
	case "device":
		if _, err := strconv.Atoi(s.Device); err != nil && !strings.HasPrefix(s.Device, "/") {
			errs = append(errs, fmt.Errorf("device: %q is neither a path like /dev/video0 nor an index like 0", s.Device))
		}
	case "stream":
		if err := checkStreamURL(s.URL); err != nil {
			errs = append(errs, fmt.Errorf("url: %w", err))
		}
	case "gstreamer":
		if !strings.Contains(s.Pipeline, "appsink") {
			errs = append(errs, errors.New(`pipeline: must end in an appsink, e.g. "... ! videoconvert ! video/x-raw,format=BGR ! appsink"`))
		}
	case "file", "folder":
		if s.Path == "" {
			errs = append(errs, fmt.Errorf("path: required for kind %s", s.Kind))
		}
	}
	return errors.Join(errs...)
}

func checkStreamURL(raw string) error {
	if raw == "" {
		return errors.New("required, e.g. rtsp://camera.local/stream1")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case !slices.Contains([]string{"rtsp", "rtsps", "http", "https"}, u.Scheme):
		return fmt.Errorf("scheme %q is not supported (accepted: rtsp, rtsps, http, https)", u.Scheme)
	case u.Host == "":
		return fmt.Errorf("%q has no host", u.Redacted())
	}
	return nil
}

func (s *SourceConfig) setFields() []string {
	var set []string
	for _, f := range []struct {
		name  string
		isSet bool
	}{
		{"device", s.Device != ""}, {"width", s.Width != 0}, {"height", s.Height != 0},
		{"fps", s.FPS != 0}, {"fourcc", s.FourCC != ""}, {"url", s.URL != ""},
		{"open_timeout", s.OpenTimeout != 0}, {"read_timeout", s.ReadTimeout != 0},
		{"pipeline", s.Pipeline != ""}, {"path", s.Path != ""}, {"loop", s.Loop},
		{"seed", s.Seed != 0}, {"defect_rate", s.DefectRate != 0},
		{"part_types", len(s.PartTypes) > 0}, {"defects", len(s.Defects) > 0}, {"frames", s.Frames != 0},
	} {
		if f.isSet {
			set = append(set, f.name)
		}
	}
	return set
}

// CameraOptions are a camera's source, orientation and supervision.
type CameraOptions struct {
	Source SourceConfig `yaml:"source" json:"source"`
	// ROI crops the source image before rotation and flip; nil keeps it whole.
	ROI *Rect `yaml:"roi" json:"roi,omitempty"`
	// Rotate turns the image clockwise: 0, 90, 180 or 270 degrees.
	Rotate int `yaml:"rotate" json:"rotate"`
	// Flip mirrors the rotated image: none, horizontal, vertical or both.
	Flip string `yaml:"flip" json:"flip"`
	// StallTimeout: no frame for this long closes and reopens the camera.
	StallTimeout time.Duration `yaml:"stall_timeout" json:"stall_timeout"`
	// Reconnect paces reopening after a failure.
	Reconnect Backoff `yaml:"reconnect" json:"reconnect"`
}

// Rect is a rectangle in source pixels.
type Rect struct {
	X      int `yaml:"x" json:"x"`
	Y      int `yaml:"y" json:"y"`
	Width  int `yaml:"width" json:"width"`
	Height int `yaml:"height" json:"height"`
}

// Backoff is an exponential delay: Min, doubling up to Max, each spread by
// ±Jitter (a fraction) so cameras that fail together do not retry in step.
type Backoff struct {
	Min    time.Duration `yaml:"min" json:"min"`
	Max    time.Duration `yaml:"max" json:"max"`
	Jitter float64       `yaml:"jitter" json:"jitter"`
}

// Flips are the accepted values of flip.
var Flips = []string{"none", "horizontal", "vertical", "both"}

// Camera supervision defaults.
const (
	DefaultStallTimeout = 5 * time.Second
	DefaultBackoffMin   = 500 * time.Millisecond
	DefaultBackoffMax   = 30 * time.Second
	DefaultJitter       = 0.2
)
