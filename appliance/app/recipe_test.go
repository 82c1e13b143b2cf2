package app

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/linesight/linesight/defects"
)

// Two recipes: A judges with the file's set, B maps the cameras to a set
// of other classes (bent, chipped), so every verdict shows which judged it.
const recipesYAML = `  others:
    uncertain: reject
    good: {name: fine, states: [flawless], threshold: 0.5}
    defects:
      - {name: bent, states: [bent], threshold: 0.5}
      - {name: chipped, states: [chipped], threshold: 0.5}
recipes:
  - name: widget-a
  - name: widget-b
    cameras: {default: others}
`

type auditLog struct {
	mu      sync.Mutex
	entries []string
}

func (l *auditLog) add(user, action, detail string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, user+" "+action+" "+detail)
	return nil
}

func (l *auditLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

// A recipe change swaps the classes between batches: verdicts before it
// carry the old recipe, after it the new one and its thresholds; it is
// audited, survives a restart, and an unknown recipe changes nothing.
func TestRecipeChangeTakesEffectBetweenBatches(t *testing.T) {
	cfgPath, classes := writeConfig(t, 0)
	file := strings.Replace(fmt.Sprintf(classesYAML, 0.1, 0.1, 0.1), "cameras:\n", recipesYAML+"cameras:\n", 1)
	if err := os.WriteFile(classes, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	a, sink, cancel, done := startApp(t, cfgPath)
	log := &auditLog{}
	a.Audit = log.add
	if got, all := a.Recipe(), a.Recipes(); got != "widget-a" || !slices.Equal(all, []string{"widget-a", "widget-b"}) {
		t.Fatalf("recipe %q of %v at start, want the first, widget-a", got, all)
	}
	waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) > 5 })

	if err := a.SetRecipe("nope", "eve"); err == nil || !strings.Contains(err.Error(), "widget-a, widget-b") {
		t.Errorf("unknown recipe: %v, want an error listing the recipes", err)
	}
	if err := a.SetRecipe("widget-b", "ann"); err != nil {
		t.Fatal(err)
	}
	n := len(sink.Verdicts())
	vs := waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) > n+10 })
	// Once one verdict has widget-b, every later one does: no batch mixes.
	switched := slices.IndexFunc(vs, func(v defects.Verdict) bool { return v.Recipe == "widget-b" })
	if switched < 0 {
		t.Fatal("no verdict after the change carries widget-b")
	}
	for i, v := range vs {
		want := "widget-a"
		if i >= switched {
			want = "widget-b"
		}
		if v.Outcome == defects.Missed {
			continue
		}
		if v.Recipe != want {
			t.Fatalf("verdict %d (camera %s seq %d) has recipe %q, want %q: the recipes interleave", i, v.Camera, v.Seq, v.Recipe, want)
		}
		classes := []string{"good", "scratch", "dent"}
		if want == "widget-b" {
			classes = []string{"fine", "bent", "chipped"}
		}
		for k, s := range v.Scores {
			if s.Class != classes[k] {
				t.Fatalf("verdict %d under %s scored class %q, want %v", i, want, s.Class, classes)
			}
		}
	}
	if got := a.Status().Recipe; got != "widget-b" {
		t.Errorf("status recipe %q, want widget-b", got)
	}
	if got := log.all(); !slices.Equal(got, []string{"ann recipe.change widget-a -> widget-b"}) {
		t.Errorf("audit %q, want the one change by ann", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run ended with %v", err)
	}

	// A restart keeps the product the line was switched to.
	saved, err := os.ReadFile(filepath.Join(filepath.Dir(cfgPath), "data", RecipeFile))
	if err != nil || strings.TrimSpace(string(saved)) != "widget-b" {
		t.Fatalf("saved recipe %q, %v", saved, err)
	}
	a, sink, cancel, done = startApp(t, cfgPath)
	defer stopApp(t, cancel, done)
	if got := a.Recipe(); got != "widget-b" {
		t.Errorf("after a restart the recipe is %q, want widget-b", got)
	}
	vs = waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) > 0 })
	if vs[0].Recipe != "widget-b" {
		t.Errorf("first verdict after the restart has recipe %q", vs[0].Recipe)
	}
}
