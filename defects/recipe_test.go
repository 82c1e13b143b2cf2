package defects

import (
	"strings"
	"testing"
)

const recipeFile = `
version: 1
sets:
  brackets:
    good: {prompts: ["a good bracket"], threshold: 0.6}
    defects:
      - {name: scratch, prompts: ["a scratched bracket"], threshold: 0.5}
  washers:
    good: {prompts: ["a good washer"], threshold: 0.7}
    defects:
      - {name: crack, prompts: ["a cracked washer"], threshold: 0.4}
cameras:
  default: brackets
recipes:
  - name: bracket-a
  - name: washer-b
    cameras: {line1/top: washers}
    thresholds: {washers: {crack: 0.25}}
`

func TestRecipesLayOverTheFile(t *testing.T) {
	f, err := Parse("classes.yaml", []byte(recipeFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.RecipeNames(), ","); got != "bracket-a,washer-b" {
		t.Fatalf("recipes %q, want them in the file's order", got)
	}
	a, err := f.ForRecipe("bracket-a")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := a.SetFor("line1/top"); err != nil {
		t.Errorf("bracket-a: line1/top: %v", err)
	} else if s.Name != "brackets" || s.Recipe != "bracket-a" {
		t.Errorf("bracket-a: line1/top judged by %s for recipe %q, want brackets for bracket-a", s.Name, s.Recipe)
	}
	b, err := f.ForRecipe("washer-b")
	if err != nil {
		t.Fatal(err)
	}
	top, err := b.SetFor("line1/top")
	if err != nil {
		t.Fatal(err)
	}
	side, err := b.SetFor("line1/side")
	if err != nil {
		t.Fatal(err)
	}
	if top.Name != "washers" || side.Name != "brackets" {
		t.Errorf("washer-b: top %s, side %s; want washers, and brackets from the file's default", top.Name, side.Name)
	}
	if got := top.Classes[1].Threshold; got != 0.25 {
		t.Errorf("washer-b crack threshold %g, want the recipe's 0.25", got)
	}
	if got := f.Sets["washers"].Classes[1].Threshold; got != 0.4 {
		t.Errorf("the file's own crack threshold became %g: a recipe must not change the file", got)
	}
	if _, err := f.ForRecipe("nope"); err == nil || !strings.Contains(err.Error(), "bracket-a, washer-b") {
		t.Errorf("unknown recipe: err %v, want one listing the recipes", err)
	}
}

func TestRecipesChangeTheHash(t *testing.T) {
	f, err := Parse("a.yaml", []byte(recipeFile))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse("b.yaml", []byte(strings.Replace(recipeFile, "crack: 0.25", "crack: 0.3", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Hash() == g.Hash() {
		t.Error("a recipe's threshold changed and the file's hash did not")
	}
	plain, err := Parse("c.yaml", []byte(recipeFile[:strings.Index(recipeFile, "recipes:")]))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Hash() == f.Hash() {
		t.Error("adding recipes left the hash unchanged")
	}
	if _, err := plain.ForRecipe(""); err != nil {
		t.Errorf("a file without recipes judges as itself: %v", err)
	}
}

func TestRecipeErrorsSayWhere(t *testing.T) {
	bad := strings.Replace(recipeFile, "{line1/top: washers}", "{line1/top: wahsers}", 1)
	bad = strings.Replace(bad, "{washers: {crack: 0.25}}", "{washers: {crak: 1.5}}", 1)
	bad += "  - name: bracket-a\n"
	_, err := Parse("classes.yaml", []byte(bad))
	if err == nil {
		t.Fatal("bad recipes accepted")
	}
	for _, want := range []string{
		`recipes[1].cameras["line1/top"]: unknown class set "wahsers"`,
		`recipes[1].thresholds.washers.crak: set "washers" has no class "crak"`,
		"1.5 is out of range",
		`recipes[2].name: recipe "bracket-a" is already defined at recipes[0]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
