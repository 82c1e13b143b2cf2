package defects

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/linesight/linesight/internal/yamlconf"
)

// Recipe is one product's way of judging: which class set each camera (or
// region) uses and, optionally, other thresholds for some classes. A
// changeover makes another recipe active (docs/recipes.md).
type Recipe struct {
	Name string
	// Cameras map a camera (or "<camera>/<region>", or DefaultCamera) to
	// a set; names it does not map keep the file's own mapping.
	Cameras map[string]string
	// Thresholds override classes' thresholds: set -> class -> threshold.
	Thresholds map[string]map[string]float64
}

type rawRecipe struct {
	Name       string                        `yaml:"name"`
	Cameras    map[string]string             `yaml:"cameras"`
	Thresholds map[string]map[string]float64 `yaml:"thresholds"`
}

// buildRecipes validates the file's recipes, in their order.
func buildRecipes(doc *yamlconf.Doc, raw []rawRecipe, f *File) []Recipe {
	seen := map[string]int{}
	var out []Recipe
	for i, rr := range raw {
		path := yamlconf.Index("recipes", i)
		switch {
		case strings.TrimSpace(rr.Name) == "":
			doc.Errorf(yamlconf.Key(path, "name"), "missing: every recipe needs a name")
		case rr.Name != strings.TrimSpace(rr.Name):
			doc.Errorf(yamlconf.Key(path, "name"), "%q has leading or trailing spaces", rr.Name)
		default:
			if j, dup := seen[rr.Name]; dup {
				doc.Errorf(yamlconf.Key(path, "name"), "recipe %q is already defined at %s", rr.Name, yamlconf.Index("recipes", j))
			}
			seen[rr.Name] = i
		}
		for camera, set := range rr.Cameras {
			if _, ok := f.Sets[set]; !ok {
				doc.Errorf(yamlconf.Key(yamlconf.Key(path, "cameras"), camera), "unknown class set %q (accepted: %s)", set, listOrNone(f.SetNames()))
			}
		}
		for set, classes := range rr.Thresholds {
			sp := yamlconf.Key(yamlconf.Key(path, "thresholds"), set)
			s, ok := f.Sets[set]
			if !ok {
				doc.Errorf(sp, "unknown class set %q (accepted: %s)", set, listOrNone(f.SetNames()))
				continue
			}
			for class, t := range classes {
				cp := yamlconf.Key(sp, class)
				if !slices.ContainsFunc(s.Classes, func(c Class) bool { return c.Name == class }) {
					doc.Errorf(cp, "set %q has no class %q", set, class)
				}
				if t < 0 || t > 1 {
					doc.Errorf(cp, "%g is out of range (accepted: a probability from 0 to 1)", t)
				}
			}
		}
		out = append(out, Recipe{Name: rr.Name, Cameras: rr.Cameras, Thresholds: rr.Thresholds})
	}
	return out
}

// RecipeNames are the file's recipes in order; none when it has none.
func (f *File) RecipeNames() []string {
	names := make([]string, len(f.Recipes))
	for i, r := range f.Recipes {
		names[i] = r.Name
	}
	return names
}

// ForRecipe is the file as recipe name judges: its camera mapping laid over
// the file's, its thresholds in copies of the sets it changes, and every
// set marked with the recipe's name for the verdicts. "" with a file
// without recipes is the file itself.
func (f *File) ForRecipe(name string) (*File, error) {
	if name == "" && len(f.Recipes) == 0 {
		return f, nil
	}
	i := slices.IndexFunc(f.Recipes, func(r Recipe) bool { return r.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("%s: no recipe %q (recipes: %s)", f.Name, name, listOrNone(f.RecipeNames()))
	}
	r := f.Recipes[i]
	out := *f
	out.Cameras = maps.Clone(f.Cameras)
	if out.Cameras == nil {
		out.Cameras = map[string]string{}
	}
	maps.Copy(out.Cameras, r.Cameras)
	out.Sets = make(map[string]*ClassSet, len(f.Sets))
	for n, s := range f.Sets {
		c := *s
		c.Recipe = r.Name
		c.Classes = slices.Clone(s.Classes)
		for j := range c.Classes {
			if t, ok := r.Thresholds[n][c.Classes[j].Name]; ok {
				c.Classes[j].Threshold = t
			}
		}
		out.Sets[n] = &c
	}
	return &out, nil
}
