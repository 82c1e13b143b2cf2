package defects

import (
	"fmt"
	"slices"
	"strings"

	"github.com/linesight/linesight/internal/yamlconf"
)

// Version is the file format this package reads.
const Version = 1

// Placeholder marks where a template takes a state word.
const Placeholder = "{}"

// MaxPrompts caps the prompts of a file, counted after states are filled
// into templates, over all sets. Each prompt is encoded at every change of
// the file and kept in the cache: tens of thousands make a warm-up of
// minutes. The encoder takes them in bounded batches, so memory is not
// what the cap protects.
const MaxPrompts = 10000

// The file as written; pointers tell an omitted value from an explicit zero.
type rawFile struct {
	Version   *int              `yaml:"version"`
	Templates []string          `yaml:"templates"`
	Sets      map[string]rawSet `yaml:"sets"`
	Cameras   map[string]string `yaml:"cameras"`
	Recipes   []rawRecipe       `yaml:"recipes"`
}

type rawSet struct {
	// Templates replace the file's templates for this set's classes.
	Templates []string    `yaml:"templates"`
	Uncertain string      `yaml:"uncertain"`
	Good      *rawClass   `yaml:"good"`
	Defects   []rawClass  `yaml:"defects"`
	Anomaly   *rawAnomaly `yaml:"anomaly"`
}

type rawClass struct {
	Name      string   `yaml:"name"`
	Prompts   []string `yaml:"prompts"`
	States    []string `yaml:"states"`
	Threshold *float64 `yaml:"threshold"`
}

// Parse decodes and validates a defect-class file. name says where the data
// came from; every problem found is reported at once, with its line.
func Parse(name string, data []byte) (*File, error) {
	var raw rawFile
	doc := yamlconf.Decode(name, data, &raw)
	if doc.Malformed() {
		return nil, fmt.Errorf("defect classes:\n%w", doc.Err())
	}
	f := build(doc, &raw)
	if err := doc.Err(); err != nil {
		return nil, fmt.Errorf("defect classes:\n%w", err)
	}
	f.hash = hashFile(f)
	for _, s := range f.Sets {
		s.ConfigHash = f.hash
	}
	return f, nil
}

// build validates raw and turns it into a File, recording problems in doc.
func build(doc *yamlconf.Doc, raw *rawFile) *File {
	f := &File{Name: doc.File, Sets: map[string]*ClassSet{}, Cameras: raw.Cameras}
	switch {
	case raw.Version == nil:
		doc.Errorf("version", "missing (accepted: %d)", Version)
	case *raw.Version != Version:
		doc.Errorf("version", "unsupported version %d (accepted: %d)", *raw.Version, Version)
	default:
		f.Version = *raw.Version
	}
	checkTemplates(doc, "templates", raw.Templates)
	if len(raw.Sets) == 0 {
		doc.Errorf("sets", "no class sets; define at least one under sets")
	}
	for setName, rs := range raw.Sets {
		f.Sets[setName] = buildSet(doc, yamlconf.Key("sets", setName), setName, rs, raw.Templates)
	}
	checkPromptCount(doc, f)
	for camera, setName := range raw.Cameras {
		if _, ok := raw.Sets[setName]; !ok {
			doc.Errorf(yamlconf.Key("cameras", camera), "unknown class set %q (accepted: %s)", setName, listOrNone(f.SetNames()))
		}
	}
	f.Recipes = buildRecipes(doc, raw.Recipes, f)
	return f
}

func buildSet(doc *yamlconf.Doc, path, name string, rs rawSet, fileTemplates []string) *ClassSet {
	s := &ClassSet{Name: name, Uncertain: ActionReject}
	templates, templatesPath := fileTemplates, "templates"
	if rs.Templates != nil {
		templates, templatesPath = rs.Templates, yamlconf.Key(path, "templates")
		checkTemplates(doc, templatesPath, rs.Templates)
	}
	if rs.Uncertain != "" {
		s.Uncertain = Action(rs.Uncertain)
		if !slices.Contains(actions, s.Uncertain) {
			doc.Errorf(yamlconf.Key(path, "uncertain"), "unknown policy %q (accepted: reject, pass, escalate)", rs.Uncertain)
		}
	}
	ctx := classContext{doc: doc, set: name, templates: templates, templatesPath: templatesPath}
	if rs.Good == nil {
		doc.Errorf(yamlconf.Key(path, "good"), "missing: every set needs a good class")
	} else {
		good := *rs.Good
		if good.Name == "" && !doc.Has(yamlconf.Key(yamlconf.Key(path, "good"), "name")) {
			good.Name = DefaultGoodName
		}
		s.Classes = append(s.Classes, ctx.build(yamlconf.Key(path, "good"), good, true))
	}
	if len(rs.Defects) == 0 {
		doc.Errorf(yamlconf.Key(path, "defects"), "no defect classes; define at least one")
	}
	for i, rc := range rs.Defects {
		s.Classes = append(s.Classes, ctx.build(yamlconf.Index(yamlconf.Key(path, "defects"), i), rc, false))
	}
	checkUniqueNames(doc, path, rs)
	s.Anomaly = buildAnomaly(doc, yamlconf.Key(path, "anomaly"), rs.Anomaly, s)
	return s
}

// checkUniqueNames reports a class name used twice in a set, good included.
func checkUniqueNames(doc *yamlconf.Doc, path string, rs rawSet) {
	seen := map[string]string{}
	if rs.Good != nil {
		name := rs.Good.Name
		if name == "" {
			name = DefaultGoodName
		}
		seen[name] = yamlconf.Key(path, "good")
	}
	for i, rc := range rs.Defects {
		p := yamlconf.Index(yamlconf.Key(path, "defects"), i)
		if rc.Name == "" {
			continue // reported as missing
		}
		if first, dup := seen[rc.Name]; dup {
			doc.Errorf(yamlconf.Key(p, "name"), "class name %q is already used by %s", rc.Name, first)
			continue
		}
		seen[rc.Name] = p
	}
}

type classContext struct {
	doc           *yamlconf.Doc
	set           string
	templates     []string
	templatesPath string
}

func (c classContext) build(path string, rc rawClass, good bool) Class {
	doc := c.doc
	cl := Class{Name: rc.Name, Good: good}
	if strings.TrimSpace(rc.Name) == "" {
		doc.Errorf(yamlconf.Key(path, "name"), "missing: every defect class needs a name")
	} else if rc.Name != strings.TrimSpace(rc.Name) {
		doc.Errorf(yamlconf.Key(path, "name"), "%q has leading or trailing spaces", rc.Name)
	}
	switch {
	case rc.Threshold == nil:
		doc.Errorf(yamlconf.Key(path, "threshold"), "missing (accepted: a probability from 0 to 1)")
	case *rc.Threshold < 0 || *rc.Threshold > 1:
		doc.Errorf(yamlconf.Key(path, "threshold"), "%g is out of range (accepted: a probability from 0 to 1)", *rc.Threshold)
	default:
		cl.Threshold = *rc.Threshold
	}
	switch {
	case rc.Prompts != nil && rc.States != nil:
		doc.Errorf(path, "has both prompts and states; use one: prompts as written, or states filled into templates")
	case rc.Prompts != nil:
		p := yamlconf.Key(path, "prompts")
		checkPhrases(doc, p, rc.Prompts, "prompt")
		for i, prompt := range rc.Prompts {
			if strings.Contains(prompt, Placeholder) {
				doc.Errorf(yamlconf.Index(p, i), "prompt %q contains %s; only templates take state words (use states instead)", prompt, Placeholder)
			}
		}
		cl.Prompts = rc.Prompts
	case rc.States != nil:
		checkPhrases(doc, yamlconf.Key(path, "states"), rc.States, "state")
		for i, state := range rc.States {
			// A state word is what fills a template's placeholder: one of its
			// own would reach the model as a literal "{}".
			if strings.Contains(state, Placeholder) {
				doc.Errorf(yamlconf.Index(yamlconf.Key(path, "states"), i), "state word %q of class %q in set %q contains %s; state words are filled into the templates' %s and cannot hold one",
					state, rc.Name, c.set, Placeholder, Placeholder)
			}
		}
		if len(c.templates) == 0 {
			doc.Errorf(yamlconf.Key(path, "states"), "states need templates, and %s has none", c.templatesPath)
		}
		cl.Prompts = ensemble(rc.States, c.templates)
	default:
		doc.Errorf(path, "no prompts or states; give prompts, or states to fill into templates")
	}
	return cl
}

// ensemble fills every state into every template, state by state.
func ensemble(states, templates []string) []string {
	out := make([]string, 0, len(states)*len(templates))
	for _, s := range states {
		for _, t := range templates {
			out = append(out, strings.ReplaceAll(t, Placeholder, s))
		}
	}
	return out
}

// checkPromptCount refuses a file of more than MaxPrompts prompts, naming
// both numbers.
func checkPromptCount(doc *yamlconf.Doc, f *File) {
	n := 0
	for _, s := range f.Sets {
		for _, c := range s.Classes {
			n += len(c.Prompts)
		}
	}
	if n > MaxPrompts {
		doc.Errorf("sets", "%d prompts (states filled into templates, over all sets), more than the limit of %d per file: use fewer states or templates", n, MaxPrompts)
	}
}

func checkTemplates(doc *yamlconf.Doc, path string, templates []string) {
	checkPhrases(doc, path, templates, "template")
	for i, t := range templates {
		if strings.TrimSpace(t) != "" && !strings.Contains(t, Placeholder) {
			doc.Errorf(yamlconf.Index(path, i), "template %q has no %s for the state word", t, Placeholder)
		}
	}
}

// checkPhrases reports an empty list, empty entries and duplicates: a
// duplicate would silently weigh one phrasing double in the ensemble.
func checkPhrases(doc *yamlconf.Doc, path string, phrases []string, what string) {
	if len(phrases) == 0 && doc.Has(path) {
		doc.Errorf(path, "empty list: give at least one %s", what)
	}
	first := map[string]int{}
	for i, p := range phrases {
		ip := yamlconf.Index(path, i)
		if strings.TrimSpace(p) == "" {
			doc.Errorf(ip, "empty %s", what)
			continue
		}
		if j, dup := first[p]; dup {
			doc.Errorf(ip, "duplicate %s %q (also %s)", what, p, yamlconf.Index(path, j))
			continue
		}
		first[p] = i
	}
}
