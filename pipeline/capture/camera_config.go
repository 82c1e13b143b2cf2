package capture

import (
	"errors"
	"fmt"
	"time"
)

// CameraConfig is one camera: where its frames come from and how they are
// supervised and oriented.
type CameraConfig struct {
	Source SourceConfig `yaml:"source"`
	// ROI crops the source image (in the source's own pixels) before
	// rotation and flip; nil keeps the whole image.
	ROI *Rect `yaml:"roi"`
	// Rotate turns the image clockwise by 0, 90, 180 or 270 degrees.
	Rotate int `yaml:"rotate"`
	// Flip mirrors the rotated image: none, horizontal, vertical or both.
	Flip Flip `yaml:"flip"`
	// StallTimeout is how long the camera may go without a frame before it
	// is closed and reopened. Default 5s.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// Reconnect paces reopening after a failure.
	Reconnect Backoff `yaml:"reconnect"`
}

// Rect is a rectangle in pixels.
type Rect struct {
	X      int `yaml:"x"`
	Y      int `yaml:"y"`
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
}

// Flip mirrors an image.
type Flip string

// Flips.
const (
	FlipNone       Flip = "none"
	FlipHorizontal Flip = "horizontal" // left and right swap
	FlipVertical   Flip = "vertical"   // top and bottom swap
	FlipBoth       Flip = "both"       // the same as rotating by 180
)

// Backoff is an exponential delay between reconnect attempts: Min, doubling
// up to Max, each spread by ±Jitter (a fraction) so that cameras that fail
// together do not retry in lockstep.
type Backoff struct {
	Min    time.Duration `yaml:"min"`
	Max    time.Duration `yaml:"max"`
	Jitter float64       `yaml:"jitter"`
}

// Defaults of the camera's supervision.
const (
	DefaultStallTimeout = 5 * time.Second
	DefaultBackoffMin   = 500 * time.Millisecond
	DefaultBackoffMax   = 30 * time.Second
	DefaultJitter       = 0.2
)

// Validate reports every problem at once, each naming its field.
func (c *CameraConfig) Validate() error {
	var errs []error
	if err := c.Source.Validate(); err != nil {
		errs = append(errs, prefixErrors("source.", err)...)
	}
	if err := c.validateSupervision(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateSupervision checks everything but the source.
func (c *CameraConfig) validateSupervision() error {
	var errs []error
	if r := c.ROI; r != nil {
		if r.X < 0 || r.Y < 0 {
			errs = append(errs, fmt.Errorf("roi: x, y (%d, %d) must not be negative", r.X, r.Y))
		}
		if r.Width <= 0 || r.Height <= 0 {
			errs = append(errs, fmt.Errorf("roi: width, height (%dx%d) must be positive", r.Width, r.Height))
		}
	}
	switch c.Rotate {
	case 0, 90, 180, 270:
	default:
		errs = append(errs, fmt.Errorf("rotate: %d is not accepted (accepted: 0, 90, 180, 270, clockwise)", c.Rotate))
	}
	switch c.Flip {
	case "", FlipNone, FlipHorizontal, FlipVertical, FlipBoth:
	default:
		errs = append(errs, fmt.Errorf("flip: %q is not accepted (accepted: none, horizontal, vertical, both)", c.Flip))
	}
	if c.StallTimeout < 0 {
		errs = append(errs, fmt.Errorf("stall_timeout: %s is negative", c.StallTimeout))
	}
	b := c.Reconnect
	if b.Min < 0 || b.Max < 0 {
		errs = append(errs, fmt.Errorf("reconnect: min %s, max %s must not be negative", b.Min, b.Max))
	}
	if b.Min > 0 && b.Max > 0 && b.Max < b.Min {
		errs = append(errs, fmt.Errorf("reconnect.max: %s is below reconnect.min %s", b.Max, b.Min))
	}
	if b.Jitter < 0 || b.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("reconnect.jitter: %g is outside [0, 1)", b.Jitter))
	}
	return errors.Join(errs...)
}

// withDefaults fills in what the configuration may leave out.
func (c CameraConfig) withDefaults() CameraConfig {
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.Reconnect.Min == 0 {
		c.Reconnect.Min = DefaultBackoffMin
	}
	if c.Reconnect.Max == 0 {
		c.Reconnect.Max = max(DefaultBackoffMax, c.Reconnect.Min)
	}
	if c.Reconnect.Jitter == 0 {
		c.Reconnect.Jitter = DefaultJitter
	}
	return c
}

// prefixErrors splits a joined error and puts prefix before each part.
func prefixErrors(prefix string, err error) []error {
	var parts []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			parts = append(parts, prefixErrors(prefix, e)...)
		}
		return parts
	}
	return []error{fmt.Errorf("%s%w", prefix, err)}
}
