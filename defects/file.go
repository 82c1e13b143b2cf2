// Package defects turns a quality engineer's defect-class file into verdicts:
// it reads and validates the YAML, builds prompt-ensemble text embeddings
// (cached on disk per model), scores image embeddings against them and
// decides PASS, FAIL or UNCERTAIN.
package defects

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// Action is what the line does with a part.
type Action string

// The actions a line can take; an UNCERTAIN verdict takes its set's policy.
const (
	ActionPass     Action = "pass"     // let the part through
	ActionReject   Action = "reject"   // divert the part to scrap or rework
	ActionEscalate Action = "escalate" // hold the part for a person to decide
)

var actions = []Action{ActionReject, ActionPass, ActionEscalate}

// DefaultCamera is the key under `cameras:` that serves unmapped cameras.
const DefaultCamera = "default"

// DefaultGoodName names the good class when the file gives it no name.
const DefaultGoodName = "good"

// File is a validated defect-class file.
type File struct {
	Name    string // where it was read from, for messages
	Version int
	Sets    map[string]*ClassSet
	// Cameras maps a camera name, or DefaultCamera, to a set name.
	Cameras map[string]string
	// Recipes are the products the line may switch between, in order;
	// none: the file's mapping and thresholds are the only way to judge.
	Recipes []Recipe
	hash    string
}

// ClassSet is the classes one camera's frames are scored against.
type ClassSet struct {
	Name string
	// Uncertain is the action for a frame no class is confident about.
	Uncertain Action
	// Classes holds the good class first, then the defect classes in the
	// order of the file.
	Classes []Class
	// ConfigHash is the hash of the file the set came from.
	ConfigHash string
	// Anomaly enables anomaly maps for the set; nil: image-level scoring only.
	Anomaly *AnomalySettings
	// Recipe is the recipe the set judges for (File.ForRecipe); "" without
	// recipes.
	Recipe string
}

// Class is one class of a set with its prompt ensemble.
type Class struct {
	Name string
	Good bool
	// Prompts are the texts whose embeddings are averaged into the class:
	// the explicit prompts, or every state filled into every template.
	Prompts []string
	// Threshold is the probability at which the class decides the verdict.
	Threshold float64
}

// Good returns the set's good class.
func (s *ClassSet) Good() Class { return s.Classes[0] }

// Load reads and validates a defect-class file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read defect classes: %w", err)
	}
	return Parse(path, data)
}

// Hash identifies the file's effective content; see canonical.
func (f *File) Hash() string { return f.hash }

// SetFor returns the class set that scores a camera's frames: the camera's
// own mapping, else the default mapping, else the only set of a file that
// maps no cameras at all.
func (f *File) SetFor(camera string) (*ClassSet, error) {
	if name, ok := f.Cameras[camera]; ok {
		return f.Sets[name], nil
	}
	if name, ok := f.Cameras[DefaultCamera]; ok {
		return f.Sets[name], nil
	}
	if len(f.Cameras) == 0 && len(f.Sets) == 1 {
		for _, s := range f.Sets {
			return s, nil
		}
	}
	mapped := make([]string, 0, len(f.Cameras))
	for c := range f.Cameras {
		mapped = append(mapped, c)
	}
	sort.Strings(mapped)
	return nil, fmt.Errorf("%s: no class set for camera %q (cameras mapped: %s); map it, or %q, under cameras",
		f.Name, camera, listOrNone(mapped), DefaultCamera)
}

// SetNames returns the names of the sets in order.
func (f *File) SetNames() []string {
	names := make([]string, 0, len(f.Sets))
	for n := range f.Sets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
