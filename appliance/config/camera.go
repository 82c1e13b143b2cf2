package config

import (
	"time"

	"github.com/linesight/linesight/pipeline/capture"
)

// Camera is one camera of the line: where its frames come from and how they
// are oriented and supervised (capture's keys, inline), and how the line
// inspects them.
type Camera struct {
	// ID names the camera in MQTT topics and journals; the defect-class
	// file refers to it as "<line>/<id>".
	ID                   string `yaml:"id" json:"id"`
	capture.CameraConfig `yaml:",inline"`
	// Mode is freerun (inspect frames as they come) or triggered (inspect
	// the first frame after each trigger).
	Mode string `yaml:"mode" json:"mode"`
	// Rate caps freerun inspections per second; 0 inspects every frame.
	Rate float64 `yaml:"rate" json:"rate"`
	// TriggerTimeout: a trigger with no frame within it is a MISSED verdict.
	TriggerTimeout time.Duration `yaml:"trigger_timeout" json:"trigger_timeout"`
	// TriggerWindow: a trigger with the PLC's time ("at") is judged on the
	// frame captured nearest to it, no farther than this either side.
	TriggerWindow time.Duration `yaml:"trigger_window" json:"trigger_window"`
	// Regions, when set, are judged instead of the whole frame, each with
	// its own class set; the part's verdict is the worst region's.
	Regions []Region `yaml:"regions" json:"regions,omitempty"`
}

// Region is a named part of a camera's frame (after its roi, rotate and
// flip) judged with its own class set.
type Region struct {
	Name string       `yaml:"name" json:"name"`
	ROI  capture.Rect `yaml:"roi" json:"roi"`
	// Set is the class set that judges it, unless the defect-class file
	// (or its active recipe) maps "<line>/<camera>/<region>"; empty: the
	// camera's set.
	Set string `yaml:"set" json:"set,omitempty"`
}

// MaxRegions is the most regions a camera may have: each is one more image
// through the model per frame.
const MaxRegions = 16

// Camera modes.
const (
	ModeFreerun   = "freerun"
	ModeTriggered = "triggered"
)

// Camera defaults and limits.
const (
	DefaultMode           = ModeFreerun
	DefaultTriggerTimeout = 2 * time.Second
	DefaultTriggerWindow  = 200 * time.Millisecond
	MaxRate               = 1000
	MaxCameras            = 64
)

// Name is the camera's name across the line: "<line>/<id>".
func (c Camera) Name(line string) string { return line + "/" + c.ID }

// RegionName is a region's name across the line, as the defect-class file
// maps it: "<line>/<id>/<region>".
func (c Camera) RegionName(line, region string) string { return c.Name(line) + "/" + region }

// Backoff is an exponential delay: Min, doubling up to Max, each spread by
// ±Jitter (a fraction) so that clients failing together do not retry in
// step. It has the keys of a camera's reconnect.
type Backoff struct {
	Min    time.Duration `yaml:"min" json:"min"`
	Max    time.Duration `yaml:"max" json:"max"`
	Jitter float64       `yaml:"jitter" json:"jitter"`
}

// DefaultJitter spreads reconnect delays.
const DefaultJitter = capture.DefaultJitter
