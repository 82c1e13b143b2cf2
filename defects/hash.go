package defects

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
)

// The canonical form of a file is what decides verdicts and nothing else:
// sets sorted by name, classes in scoring order with their expanded prompts,
// cameras sorted. Comments, layout, key order and how prompts were written
// (explicit, or states x templates) do not change it; any prompt, threshold,
// policy or mapping change does. Field names are fixed here, not taken from
// the Go types, so renaming a Go field cannot change every hash.
type canonicalFile struct {
	Format  string            `json:"format"`
	Version int               `json:"version"`
	Sets    []canonicalSet    `json:"sets"`
	Cameras []canonicalCamera `json:"cameras"`
	// Recipes are absent for a file without them, so adding the field
	// left every earlier file's hash unchanged.
	Recipes []canonicalRecipe `json:"recipes,omitempty"`
}

type canonicalRecipe struct {
	Name       string               `json:"name"`
	Cameras    []canonicalCamera    `json:"cameras"`
	Thresholds []canonicalThreshold `json:"thresholds"`
}

type canonicalThreshold struct {
	Set       string  `json:"set"`
	Class     string  `json:"class"`
	Threshold float64 `json:"threshold"`
}

type canonicalSet struct {
	Name      string           `json:"name"`
	Uncertain string           `json:"uncertain"`
	Classes   []canonicalClass `json:"classes"`
	// Anomaly is absent for a set without it, so adding the field left
	// every earlier file's hash unchanged.
	Anomaly *canonicalAnomaly `json:"anomaly,omitempty"`
}

type canonicalAnomaly struct {
	Golden    bool    `json:"golden"`
	ZeroShot  bool    `json:"zero_shot"`
	Layers    []int   `json:"layers"`
	Threshold float64 `json:"threshold"` // 0: auto
}

type canonicalClass struct {
	Name      string   `json:"name"`
	Good      bool     `json:"good"`
	Threshold float64  `json:"threshold"`
	Prompts   []string `json:"prompts"`
}

type canonicalCamera struct {
	Camera string `json:"camera"`
	Set    string `json:"set"`
}

// hashFile is "sha256:" and the hex SHA-256 of the canonical JSON.
// encoding/json writes struct fields in declaration order and floats in their
// shortest exact form, so the encoding is deterministic.
func hashFile(f *File) string {
	c := canonicalFile{Format: "linesight-defects", Version: f.Version, Sets: []canonicalSet{}, Cameras: []canonicalCamera{}}
	for _, name := range f.SetNames() {
		s := f.Sets[name]
		cs := canonicalSet{Name: s.Name, Uncertain: string(s.Uncertain), Classes: []canonicalClass{}}
		for _, cl := range s.Classes {
			prompts := cl.Prompts
			if prompts == nil {
				prompts = []string{}
			}
			cs.Classes = append(cs.Classes, canonicalClass{Name: cl.Name, Good: cl.Good, Threshold: cl.Threshold, Prompts: prompts})
		}
		if a := s.Anomaly; a != nil {
			cs.Anomaly = &canonicalAnomaly{Golden: a.Golden, ZeroShot: a.ZeroShot, Layers: a.Layers, Threshold: a.Threshold}
			if cs.Anomaly.Layers == nil {
				cs.Anomaly.Layers = []int{}
			}
		}
		c.Sets = append(c.Sets, cs)
	}
	c.Cameras = canonicalCameras(f.Cameras)
	// Recipes keep their order: it is the index a PLC chooses them by.
	for _, r := range f.Recipes {
		cr := canonicalRecipe{Name: r.Name, Cameras: canonicalCameras(r.Cameras), Thresholds: []canonicalThreshold{}}
		for set, classes := range r.Thresholds {
			for class, t := range classes {
				cr.Thresholds = append(cr.Thresholds, canonicalThreshold{Set: set, Class: class, Threshold: t})
			}
		}
		sort.Slice(cr.Thresholds, func(i, j int) bool {
			a, b := cr.Thresholds[i], cr.Thresholds[j]
			return a.Set < b.Set || a.Set == b.Set && a.Class < b.Class
		})
		c.Recipes = append(c.Recipes, cr)
	}
	data, err := json.Marshal(c)
	if err != nil {
		panic("defects: canonical encoding cannot fail: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// canonicalCameras is a camera mapping sorted by camera.
func canonicalCameras(m map[string]string) []canonicalCamera {
	out := []canonicalCamera{}
	for camera, set := range m {
		out = append(out, canonicalCamera{Camera: camera, Set: set})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Camera < out[j].Camera })
	return out
}
