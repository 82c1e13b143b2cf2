package capture

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

// Kind selects a source implementation.
type Kind string

// Source kinds.
const (
	KindDevice    Kind = "device"    // V4L2 / USB camera
	KindStream    Kind = "stream"    // RTSP or HTTP stream through FFmpeg
	KindGStreamer Kind = "gstreamer" // GStreamer pipeline ending in appsink
	KindFile      Kind = "file"      // video file
	KindFolder    Kind = "folder"    // image files in name order
	KindSynthetic Kind = "synthetic" // generated production line
)

// Kinds lists the accepted source kinds.
var Kinds = []Kind{KindDevice, KindStream, KindGStreamer, KindFile, KindFolder, KindSynthetic}

// Stream timeouts used when the configuration leaves them out.
const (
	DefaultOpenTimeout = 10 * time.Second
	DefaultReadTimeout = 5 * time.Second
)

// SourceConfig is the `source:` block of a camera. Which fields apply depends
// on Kind; setting one that does not is an error, to catch misplaced keys.
type SourceConfig struct {
	Kind Kind `yaml:"kind"`

	// device: a V4L2 path (/dev/video0) or index ("0"), and what to ask of
	// it; zero keeps the camera's own setting.
	Device string `yaml:"device"`
	// Width and Height: device, requested size; synthetic, generated size
	// (default 640x480).
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// FPS: device, requested rate; file, folder and synthetic, the replay
	// rate (0 = as fast as frames are read).
	FPS float64 `yaml:"fps"`
	// FourCC is the device's pixel format, e.g. MJPG or YUYV.
	FourCC string `yaml:"fourcc"`

	// stream: an rtsp://, rtsps://, http:// or https:// URL.
	URL string `yaml:"url"`
	// OpenTimeout and ReadTimeout bound how long a stream may take to
	// connect and to deliver each frame.
	OpenTimeout time.Duration `yaml:"open_timeout"`
	ReadTimeout time.Duration `yaml:"read_timeout"`

	// gstreamer: a pipeline ending in an appsink that yields BGR.
	Pipeline string `yaml:"pipeline"`

	// file: a video file; folder: a directory of images.
	Path string `yaml:"path"`
	// Loop restarts a file or folder at its end instead of ending.
	Loop bool `yaml:"loop"`

	// synthetic: the line's seed, defect rate (0..1), an optional subset of
	// part types and defects, and an optional frame count (0 = endless).
	Seed       int64    `yaml:"seed"`
	DefectRate float64  `yaml:"defect_rate"`
	PartTypes  []string `yaml:"part_types"`
	Defects    []string `yaml:"defects"`
	Frames     uint64   `yaml:"frames"`
}

// fieldsOf lists the fields each kind accepts besides kind.
var fieldsOf = map[Kind][]string{
	KindDevice:    {"device", "width", "height", "fps", "fourcc"},
	KindStream:    {"url", "open_timeout", "read_timeout"},
	KindGStreamer: {"pipeline"},
	KindFile:      {"path", "loop", "fps"},
	KindFolder:    {"path", "loop", "fps"},
	KindSynthetic: {"width", "height", "fps", "seed", "defect_rate", "part_types", "defects", "frames"},
}

// setFields names the fields that hold a value.
func (c *SourceConfig) setFields() []string {
	var set []string
	add := func(name string, isSet bool) {
		if isSet {
			set = append(set, name)
		}
	}
	add("device", c.Device != "")
	add("width", c.Width != 0)
	add("height", c.Height != 0)
	add("fps", c.FPS != 0)
	add("fourcc", c.FourCC != "")
	add("url", c.URL != "")
	add("open_timeout", c.OpenTimeout != 0)
	add("read_timeout", c.ReadTimeout != 0)
	add("pipeline", c.Pipeline != "")
	add("path", c.Path != "")
	add("loop", c.Loop)
	add("seed", c.Seed != 0)
	add("defect_rate", c.DefectRate != 0)
	add("part_types", len(c.PartTypes) > 0)
	add("defects", len(c.Defects) > 0)
	add("frames", c.Frames != 0)
	return set
}

// Validate reports every problem at once, each naming its field.
func (c *SourceConfig) Validate() error {
	accepted, ok := fieldsOf[c.Kind]
	if !ok {
		if c.Kind == "" {
			return fmt.Errorf("kind: missing (accepted: %s)", kindList())
		}
		return fmt.Errorf("kind: unknown kind %q (accepted: %s)", c.Kind, kindList())
	}
	var errs []error
	for _, f := range c.setFields() {
		if !containsString(accepted, f) {
			errs = append(errs, fmt.Errorf("%s: not used by kind %s (it takes: %s)", f, c.Kind, strings.Join(accepted, ", ")))
		}
	}
	if c.Width < 0 || c.Height < 0 {
		errs = append(errs, fmt.Errorf("width, height: %dx%d is negative", c.Width, c.Height))
	}
	if (c.Width == 0) != (c.Height == 0) {
		errs = append(errs, fmt.Errorf("width, height: set both or neither (got %dx%d)", c.Width, c.Height))
	}
	if c.FPS < 0 {
		errs = append(errs, fmt.Errorf("fps: %g is negative", c.FPS))
	}
	switch c.Kind {
	case KindDevice:
		errs = append(errs, c.validateDevice()...)
	case KindStream:
		errs = append(errs, c.validateStream()...)
	case KindGStreamer:
		if !strings.Contains(c.Pipeline, "appsink") {
			errs = append(errs, errors.New("pipeline: must end in an appsink, e.g. \"... ! videoconvert ! video/x-raw,format=BGR ! appsink\""))
		}
	case KindFile, KindFolder:
		if c.Path == "" {
			errs = append(errs, fmt.Errorf("path: required for kind %s", c.Kind))
		}
	case KindSynthetic:
		sc := c.withDefaults().syntheticConfig()
		if err := sc.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *SourceConfig) validateDevice() []error {
	var errs []error
	if c.Device == "" {
		errs = append(errs, errors.New("device: required, a path like /dev/video0 or an index like 0"))
	} else if _, err := strconv.Atoi(c.Device); err != nil && !strings.HasPrefix(c.Device, "/") {
		errs = append(errs, fmt.Errorf("device: %q is neither a path like /dev/video0 nor an index like 0", c.Device))
	}
	if c.FourCC != "" && len(c.FourCC) != 4 {
		errs = append(errs, fmt.Errorf("fourcc: %q is not four characters (e.g. MJPG, YUYV)", c.FourCC))
	}
	return errs
}

func (c *SourceConfig) validateStream() []error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url: required, e.g. rtsp://camera.local/stream1"))
	case err != nil:
		errs = append(errs, fmt.Errorf("url: %v", err))
	case !containsString([]string{"rtsp", "rtsps", "http", "https"}, u.Scheme):
		errs = append(errs, fmt.Errorf("url: scheme %q is not supported (accepted: rtsp, rtsps, http, https)", u.Scheme))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("url: %q has no host", redactURL(c.URL)))
	}
	if c.OpenTimeout < 0 {
		errs = append(errs, fmt.Errorf("open_timeout: %s is negative", c.OpenTimeout))
	}
	if c.ReadTimeout < 0 {
		errs = append(errs, fmt.Errorf("read_timeout: %s is negative", c.ReadTimeout))
	}
	return errs
}

// withDefaults fills in what the configuration may leave out.
func (c SourceConfig) withDefaults() SourceConfig {
	switch c.Kind {
	case KindStream:
		if c.OpenTimeout == 0 {
			c.OpenTimeout = DefaultOpenTimeout
		}
		if c.ReadTimeout == 0 {
			c.ReadTimeout = DefaultReadTimeout
		}
	case KindSynthetic:
		if c.Width == 0 && c.Height == 0 {
			c.Width, c.Height = 640, 480
		}
	}
	return c
}

func (c SourceConfig) syntheticConfig() synthetic.Config {
	return synthetic.Config{
		Width: c.Width, Height: c.Height, FPS: c.FPS, Seed: c.Seed,
		DefectRate: c.DefectRate, PartTypes: c.PartTypes, Defects: c.Defects, Frames: c.Frames,
	}
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// redactURL hides a password in a URL so it can be logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
