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
	for _, cam := range c.Cameras {
		ids[cam.ID] = true
		for _, r := range cam.Regions {
			ids[cam.ID+"/"+r.Name] = true // a file may map a region
		}
	}
	// Every recipe must give every camera a set, not only the file's own
	// mapping: a changeover must never leave a camera without classes.
	views := []*defects.File{f}
	for _, name := range f.RecipeNames() {
		view, _ := f.ForRecipe(name)
		views = append(views, view)
	}
	for _, view := range views {
		for i, cam := range c.Cameras {
			if len(cam.Regions) == 0 {
				if _, err := view.SetFor(cam.Name(c.Line)); err != nil {
					v.errorf(yamlconf.Index("cameras", i)+".id", "%v", err)
				}
				continue
			}
			for k, r := range cam.Regions {
				if _, err := cam.RegionSet(view, c.Line, r); err != nil {
					v.errorf(yamlconf.Index(yamlconf.Index("cameras", i)+".regions", k)+".set", "%v", err)
				}
			}
		}
	}
	// A mapping for a camera of this line that does not exist is most
	// likely a misspelt id, whose frames would silently get the default set.
	v.unknownCameras(c, f.Name, "", f.Cameras, ids)
	for _, r := range f.Recipes {
		v.unknownCameras(c, f.Name, "recipe "+r.Name+" ", r.Cameras, ids)
	}
	return nil
}

// unknownCameras reports mappings for cameras of this line that it does
// not have.
func (v validator) unknownCameras(c *Config, file, where string, mapping map[string]string, ids map[string]bool) {
	var unknown []string
	for name := range mapping {
		if id, ok := strings.CutPrefix(name, c.Line+"/"); ok && !ids[id] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		v.errorf("defects", "%s %smaps camera %q, which is not among this file's cameras (%s)", file, where, name, cameraIDs(c))
	}
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

// RegionSet is the class set that judges a camera's region under a defect
// file (as its active recipe lays it out): the file's mapping of
// "<line>/<camera>/<region>", else the region's own set, else the camera's.
// Anomaly maps cover whole frames, so a region's set may not enable them.
func (c Camera) RegionSet(f *defects.File, line string, r Region) (*defects.ClassSet, error) {
	var set *defects.ClassSet
	if name, ok := f.Cameras[c.RegionName(line, r.Name)]; ok {
		set = f.Sets[name]
	} else if r.Set != "" {
		set = f.Sets[r.Set]
		if set == nil {
			return nil, fmt.Errorf("region %q: %s has no class set %q (sets: %s)", r.Name, f.Name, r.Set, strings.Join(f.SetNames(), ", "))
		}
	} else {
		s, err := f.SetFor(c.Name(line))
		if err != nil {
			return nil, fmt.Errorf("region %q: %w", r.Name, err)
		}
		set = s
	}
	if set.Anomaly != nil {
		return nil, fmt.Errorf("region %q: set %q enables anomaly maps, which judge whole frames, not regions", r.Name, set.Name)
	}
	return set, nil
}
