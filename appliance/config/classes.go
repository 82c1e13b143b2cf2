package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/yamlconf"
)

// defects loads the defect-class file and checks it against the cameras.
// Problems inside that file come back with its own name and lines; problems
// reaching it are recorded against this file's `defects` key.
func (v validator) defects(c *Config) yamlconf.Errors {
	if c.Defects == "" {
		return nil
	}
	f, err := defects.Load(c.Defects)
	if err != nil {
		var es yamlconf.Errors
		if errors.As(err, &es) {
			return es
		}
		v.errorf("defects", "%v", err)
		return nil
	}
	c.classes = f
	if c.Line == "" {
		return nil
	}
	ids := map[string]bool{}
	for i, cam := range c.Cameras {
		ids[cam.ID] = true
		if _, err := f.SetFor(cam.Name(c.Line)); err != nil {
			v.errorf(yamlconf.Index("cameras", i)+".id", "%v", err)
		}
	}
	// A mapping for a camera of this line that does not exist is most
	// likely a misspelt id, whose frames would silently get the default set.
	var unknown []string
	for name := range f.Cameras {
		if id, ok := strings.CutPrefix(name, c.Line+"/"); ok && !ids[id] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		v.errorf("defects", "%s maps camera %q, which is not among this file's cameras (%s)", f.Name, name, cameraIDs(c))
	}
	return nil
}

func cameraIDs(c *Config) string {
	if len(c.Cameras) == 0 {
		return "none"
	}
	ids := make([]string, len(c.Cameras))
	for i, cam := range c.Cameras {
		ids[i] = cam.ID
	}
	return fmt.Sprintf("ids: %s", strings.Join(ids, ", "))
}
