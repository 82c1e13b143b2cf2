package config

import (
	"time"

	"github.com/linesight/linesight/internal/yamlconf"
)

// Part is a part stage: triggered cameras that see the same part (top and
// side views), whose verdicts for one part id become one part verdict,
// published under the stage's name as if it were a camera.
type Part struct {
	Name    string   `yaml:"name" json:"name"`
	Cameras []string `yaml:"cameras" json:"cameras"`
	// Deadline: a camera with no verdict for the part this long after the
	// part's first verdict is a MISSED view.
	Deadline time.Duration `yaml:"deadline" json:"deadline"`
}

// Part stage defaults and limits.
const (
	DefaultPartDeadline = 2 * time.Second
	MaxPartDeadline     = time.Minute
)

func applyPartDefaults(set func(string, func()), c *Config) {
	for i := range c.Parts {
		p := &c.Parts[i]
		set(yamlconf.Index("parts", i)+".deadline", func() { p.Deadline = DefaultPartDeadline })
	}
}

func (v validator) parts(c *Config) {
	modes := map[string]string{}
	for _, cam := range c.Cameras {
		modes[cam.ID] = cam.Mode
	}
	names := map[string]string{}
	inStage := map[string]string{}
	for i, p := range c.Parts {
		pp := yamlconf.Index("parts", i)
		if p.Name == "" {
			v.errorf(pp+".name", "missing: a part stage needs a name (accepted: %s)", idAccepted)
		}
		v.id(pp+".name", p.Name, "part stage name")
		if _, cam := modes[p.Name]; cam {
			v.errorf(pp+".name", "%q is a camera's id: the part verdicts are published under the stage's name, so it must be another", p.Name)
		} else if first, dup := names[p.Name]; dup && p.Name != "" {
			v.errorf(pp+".name", "duplicate part stage %q (first at %s)", p.Name, first)
		}
		names[p.Name] = pp
		if len(p.Cameras) < 2 {
			v.errorf(pp+".cameras", "%d cameras: a part stage fuses the views of two or more", len(p.Cameras))
		}
		for k, cam := range p.Cameras {
			cp := yamlconf.Index(pp+".cameras", k)
			mode, ok := modes[cam]
			switch {
			case !ok:
				v.errorf(cp, "no camera %q (%s)", cam, cameraIDs(c))
			case mode != ModeTriggered:
				v.errorf(cp, "camera %q is %s: only triggered cameras give part ids", cam, mode)
			case inStage[cam] != "":
				v.errorf(cp, "camera %q is already in part stage %s", cam, inStage[cam])
			default:
				inStage[cam] = p.Name
			}
		}
		v.durationIn(pp+".deadline", p.Deadline, 10*time.Millisecond, MaxPartDeadline)
	}
}
