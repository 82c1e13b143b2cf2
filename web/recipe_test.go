package web

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

type fakeRecipes struct {
	mu     sync.Mutex
	active string
	by     []string
}

func (f *fakeRecipes) Recipe() string    { f.mu.Lock(); defer f.mu.Unlock(); return f.active }
func (f *fakeRecipes) Recipes() []string { return []string{"widget-a", "widget-b"} }
func (f *fakeRecipes) SetRecipe(name, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.Recipes(), name) {
		return fmt.Errorf("no recipe %q", name)
	}
	f.active = name
	f.by = append(f.by, by)
	return nil
}

// Anyone logged in sees the recipe; only engineers change it, and the
// appliance hears who did.
func TestRecipeFromTheDashboard(t *testing.T) {
	r := &fakeRecipes{active: "widget-a"}
	h := newHarness(t, func(o *Options) { o.Recipes = r })
	olga, erik := h.login("olga"), h.login("erik")

	body := olga.expect("GET", "/api/v1/recipe", "", 200)
	if !strings.Contains(body, `"recipe":"widget-a"`) || !strings.Contains(body, `"recipes":["widget-a","widget-b"]`) {
		t.Errorf("GET /recipe: %s", body)
	}
	olga.expect("PUT", "/api/v1/recipe", `{"recipe":"widget-b"}`, 403)
	erik.expect("PUT", "/api/v1/recipe", `{"recipe":""}`, 400)
	if body := erik.expect("PUT", "/api/v1/recipe", `{"recipe":"nope"}`, 409); !strings.Contains(body, `no recipe \"nope\"`) {
		t.Errorf("unknown recipe: %s", body)
	}
	if body := erik.expect("PUT", "/api/v1/recipe", `{"recipe":"widget-b"}`, 200); !strings.Contains(body, `"recipe":"widget-b"`) {
		t.Errorf("PUT /recipe: %s", body)
	}
	if !slices.Equal(r.by, []string{"erik"}) {
		t.Errorf("changed by %v, want erik once", r.by)
	}

	none := newHarness(t)
	none.login("erik").expect("GET", "/api/v1/recipe", "", 503)
}
