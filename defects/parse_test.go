package defects

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/yamlconf"
)

func TestLoadExample(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "classes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*ClassSet{
		"brackets": {
			Name:      "brackets",
			Uncertain: ActionEscalate,
			Classes: []Class{
				{Name: "good", Good: true, Threshold: 0.6, Prompts: []string{
					"a photo of a flawless metal bracket", "a close-up photo of a flawless metal part",
					"a photo of a perfect metal bracket", "a close-up photo of a perfect metal part",
					"a photo of a unblemished metal bracket", "a close-up photo of a unblemished metal part",
				}},
				{Name: "scratch", Threshold: 0.5, Prompts: []string{
					"a photo of a scratched metal bracket", "a close-up photo of a scratched metal part",
				}},
				{Name: "dent", Threshold: 0.4, Prompts: []string{"a photo of a metal bracket with a dent"}},
			},
		},
		"washers": {
			Name:      "washers",
			Uncertain: ActionReject, // the default when the set names no policy
			Classes: []Class{
				{Name: "ok", Good: true, Threshold: 0.7, Prompts: []string{"a photo of a clean round washer"}},
				{Name: "crack", Threshold: 0.35, Prompts: []string{"a photo of a cracked washer", "a photo of a broken washer"}},
			},
		},
	}
	for name, set := range f.Sets {
		if set.ConfigHash != f.Hash() {
			t.Errorf("set %s carries hash %q, file %q", name, set.ConfigHash, f.Hash())
		}
		set.ConfigHash = ""
	}
	if !reflect.DeepEqual(f.Sets, want) {
		t.Errorf("sets =\n%+v\nwant\n%+v", f.Sets, want)
	}
	if f.Version != 1 || f.Name != filepath.Join("testdata", "classes.yaml") {
		t.Errorf("version %d name %q", f.Version, f.Name)
	}
	if !strings.HasPrefix(f.Hash(), "sha256:") || len(f.Hash()) != len("sha256:")+64 {
		t.Errorf("hash %q is not sha256:<64 hex>", f.Hash())
	}
}

func TestSetFor(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "classes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	single := mustParse(t, "version: 1\nsets:\n  only:\n    good: {prompts: [g], threshold: 0.5}\n    defects: [{name: d, prompts: [x], threshold: 0.5}]\n")
	unmapped := mustParse(t, "version: 1\nsets:\n  a:\n    good: {prompts: [g], threshold: 0.5}\n    defects: [{name: d, prompts: [x], threshold: 0.5}]\ncameras: {cam0: a}\n")
	tests := []struct {
		file    *File
		camera  string
		wantSet string
		wantErr string
	}{
		{f, "line1/cam0", "brackets", ""},
		{f, "line1/cam1", "washers", ""},
		{f, "line9/cam3", "brackets", ""}, // default
		{single, "anything", "only", ""},
		{unmapped, "cam0", "a", ""},
		{unmapped, "cam1", "", `no class set for camera "cam1" (cameras mapped: cam0)`},
	}
	for _, tt := range tests {
		set, err := tt.file.SetFor(tt.camera)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SetFor(%q) error = %v, want %q", tt.camera, err, tt.wantErr)
			}
			continue
		}
		if err != nil || set.Name != tt.wantSet {
			t.Errorf("SetFor(%q) = %v, %v; want set %s", tt.camera, set, err, tt.wantSet)
		}
	}
}

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const validSet = `version: 1
templates: ["a {} part"]
sets:
  s:
    uncertain: pass
    good:
      states: [good]
      threshold: 0.5
    defects:
      - name: scratch
        states: [scratched]
        threshold: 0.5
`

func TestParseReportsEveryProblem(t *testing.T) {
	type wantErr struct {
		line int
		path string
		msg  string
	}
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{
			name: "missing version, no sets",
			src:  "templates: [\"a {} part\"]\n",
			want: []wantErr{
				{1, "version", "missing (accepted: 1)"},
				{1, "sets", "no class sets"},
			},
		},
		{
			name: "wrong version and unknown key",
			src:  strings.Replace(validSet, "version: 1", "version: 2\nversoin: 1", 1),
			want: []wantErr{
				{1, "version", "unsupported version 2 (accepted: 1)"},
				{2, "versoin", `unknown key "versoin"`},
			},
		},
		{
			name: "template without placeholder, empty template, duplicate",
			src:  strings.Replace(validSet, `templates: ["a {} part"]`, "templates:\n  - \"a {} part\"\n  - \"a part\"\n  - \" \"\n  - \"a {} part\"", 1),
			want: []wantErr{
				{4, "templates[1]", `template "a part" has no {} for the state word`},
				{5, "templates[2]", "empty template"},
				{6, "templates[3]", `duplicate template "a {} part" (also templates[0])`},
			},
		},
		{
			name: "threshold out of range, missing, wrong type",
			src: `version: 1
sets:
  s:
    good: {prompts: [g], threshold: 1.5}
    defects:
      - name: a
        prompts: [x]
      - name: b
        prompts: [y]
        threshold: high
      - name: c
        prompts: [z]
        threshold: -0.1
`,
			want: []wantErr{
				{4, "sets.s.good.threshold", "1.5 is out of range (accepted: a probability from 0 to 1)"},
				{6, "sets.s.defects[0].threshold", "missing (accepted: a probability from 0 to 1)"},
				{10, "sets.s.defects[1].threshold", `expected a number, got "high"`},
				{13, "sets.s.defects[2].threshold", "-0.1 is out of range"},
			},
		},
		{
			name: "class names: duplicate, clash with good, missing",
			src: `version: 1
sets:
  s:
    good: {name: ok, prompts: [g], threshold: 0.5}
    defects:
      - {name: scratch, prompts: [x], threshold: 0.5}
      - {name: scratch, prompts: [y], threshold: 0.5}
      - {name: ok, prompts: [z], threshold: 0.5}
      - {prompts: [w], threshold: 0.5}
`,
			want: []wantErr{
				{7, "sets.s.defects[1].name", `class name "scratch" is already used by sets.s.defects[0]`},
				{8, "sets.s.defects[2].name", `class name "ok" is already used by sets.s.good`},
				{9, "sets.s.defects[3].name", "missing: every defect class needs a name"},
			},
		},
		{
			name: "prompts and states: both, neither, empty, placeholder in a prompt",
			src: `version: 1
sets:
  s:
    good: {prompts: [g], states: [good], threshold: 0.5}
    defects:
      - {name: a, threshold: 0.5}
      - name: b
        threshold: 0.5
        prompts: ["", "a {} part"]
      - {name: c, states: [], threshold: 0.5}
`,
			want: []wantErr{
				{4, "sets.s.good", "has both prompts and states"},
				{6, "sets.s.defects[0]", "no prompts or states"},
				{9, "sets.s.defects[1].prompts[0]", "empty prompt"},
				{9, "sets.s.defects[1].prompts[1]", `prompt "a {} part" contains {}`},
				{10, "sets.s.defects[2].states", "empty list: give at least one state"},
				{10, "sets.s.defects[2].states", "states need templates, and templates has none"},
			},
		},
		{
			name: "no good class, no defects, unknown policy, unknown camera set",
			src: `version: 1
sets:
  s:
    uncertain: retry
cameras:
  line1/cam0: t
`,
			want: []wantErr{
				{3, "sets.s.good", "missing: every set needs a good class"},
				{3, "sets.s.defects", "no defect classes"},
				{4, "sets.s.uncertain", `unknown policy "retry" (accepted: reject, pass, escalate)`},
				{6, `cameras["line1/cam0"]`, `unknown class set "t" (accepted: s)`},
			},
		},
		{
			name: "not YAML: only the syntax error",
			src:  "version: 1\nsets: [\n",
			want: []wantErr{{2, "", "invalid YAML"}}, // the unclosed bracket
		},
		{
			name: "placeholder in a state word",
			src: `version: 1
templates: ["a {} part"]
sets:
  brackets:
    good: {states: [flawless], threshold: 0.5}
    defects:
      - {name: scratch, states: [scratched, "{} scratched"], threshold: 0.5}
`,
			want: []wantErr{{7, "sets.brackets.defects[0].states[1]", `state word "{} scratched" of class "scratch" in set "brackets" contains {}`}},
		},
		{
			name: "set templates replace the file's and are checked",
			src:  strings.Replace(validSet, "    uncertain: pass", "    uncertain: pass\n    templates: [\"no placeholder\"]", 1),
			want: []wantErr{{6, "sets.s.templates[0]", `template "no placeholder" has no {}`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("d.yaml", []byte(tt.src))
			var errs yamlconf.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v is not a yamlconf.Errors", err)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tt.want), errs)
			}
			for i, w := range tt.want {
				e := errs[i]
				if e.File != "d.yaml" || e.Line != w.line || e.Path != w.path || !strings.Contains(e.Msg, w.msg) {
					t.Errorf("error %d = %q, want line %d path %s msg containing %q", i, e.Error(), w.line, w.path, w.msg)
				}
			}
		})
	}
}

func TestHashIgnoresFormAndSeesContent(t *testing.T) {
	base, err := Load(filepath.Join("testdata", "classes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reformatted, err := Load(filepath.Join("testdata", "classes_reformatted.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if base.Hash() != reformatted.Hash() {
		t.Errorf("reformatted file hashes differently: %s vs %s", base.Hash(), reformatted.Hash())
	}

	src, err := os.ReadFile(filepath.Join("testdata", "classes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	changes := []struct{ name, old, new string }{
		{"threshold", "threshold: 0.35", "threshold: 0.36"},
		{"prompt word", "with a dent", "with a dint"},
		{"state", "[cracked, broken]", "[cracked, split]"},
		{"template", "a close-up photo of a {} metal part", "a macro photo of a {} metal part"},
		{"policy", "uncertain: escalate", "uncertain: reject"},
		{"camera mapping", "line1/cam1: washers", "line1/cam1: brackets"},
		{"class name", "name: crack", "name: cracks"},
		{"defect order", "      - name: scratch\n        states: [scratched]\n        threshold: 0.5\n      - name: dent\n        prompts:\n          - \"a photo of a metal bracket with a dent\"\n        threshold: 0.4\n",
			"      - name: dent\n        prompts:\n          - \"a photo of a metal bracket with a dent\"\n        threshold: 0.4\n      - name: scratch\n        states: [scratched]\n        threshold: 0.5\n"},
	}
	seen := map[string]string{base.Hash(): "base"}
	for _, c := range changes {
		changed := strings.Replace(string(src), c.old, c.new, 1)
		if changed == string(src) {
			t.Fatalf("%s: edit did not apply", c.name)
		}
		f, err := Parse("x.yaml", []byte(changed))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if prev, dup := seen[f.Hash()]; dup {
			t.Errorf("changing the %s gives the same hash as %s", c.name, prev)
		}
		seen[f.Hash()] = c.name
	}
}

// TestDocumentedExample keeps the example in docs/defects.md valid and equal
// in meaning to testdata/classes.yaml.
func TestDocumentedExample(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "docs", "defects.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(md), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/defects.md has no ```yaml block")
	}
	documented, err := Parse("docs/defects.md", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := Load(filepath.Join("testdata", "classes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if documented.Hash() != fixture.Hash() {
		t.Errorf("the documented example means something else than testdata/classes.yaml")
	}
}

// promptFile is a file whose scratch class fills states into templates;
// its good class has good prompts.
func promptFile(templates, states, good int) string {
	var b strings.Builder
	b.WriteString("version: 1\ntemplates:\n")
	for i := range templates {
		fmt.Fprintf(&b, "  - \"photo %d of a {} part\"\n", i)
	}
	b.WriteString("sets:\n  parts:\n    good:\n      threshold: 0.5\n      prompts:\n")
	for i := range good {
		fmt.Fprintf(&b, "        - \"a good part %d\"\n", i)
	}
	b.WriteString("    defects:\n      - name: scratch\n        threshold: 0.5\n        states:\n")
	for i := range states {
		fmt.Fprintf(&b, "          - \"scratched %d\"\n", i)
	}
	return b.String()
}

func TestPromptLimit(t *testing.T) {
	// 100 templates x 99 states + 100 good prompts: at the limit.
	if _, err := Parse("at.yaml", []byte(promptFile(100, 99, 100))); err != nil {
		t.Fatalf("%d prompts refused: %v", MaxPrompts, err)
	}
	// One more good prompt: over it, with both numbers in the error.
	_, err := Parse("over.yaml", []byte(promptFile(100, 99, 101)))
	if err == nil {
		t.Fatal("a file over the prompt limit was accepted")
	}
	for _, want := range []string{"over.yaml:", "sets: 10001 prompts", fmt.Sprintf("limit of %d per file", MaxPrompts)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
