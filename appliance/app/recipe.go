package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/defects"
)

// RecipeFile holds the active recipe's name in the data directory, so a
// restart keeps the product the line was switched to.
const RecipeFile = "recipe"

// Recipe is the active recipe; "" when the defect-class file has none.
func (a *App) Recipe() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.recipe
}

// Recipes are the recipes of the defect-class file in use, in order.
func (a *App) Recipes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.file == nil {
		return a.Config.Classes().RecipeNames()
	}
	return a.file.RecipeNames()
}

// SetRecipe makes name the active recipe: its scorers and detectors are
// prepared and swapped in between two batches, so no part is judged half
// by one recipe and half by another. The change is kept across restarts
// and audited as by.
func (a *App) SetRecipe(name, by string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if st := a.State(); st != StateReady {
		return fmt.Errorf("change recipe: the appliance is %s", st)
	}
	a.mu.Lock()
	file, old := a.file, a.recipe
	a.mu.Unlock()
	if len(file.Recipes) == 0 {
		return fmt.Errorf("change recipe: %s has no recipes", file.Name)
	}
	if name == old {
		return nil
	}
	if err := a.judgeWith(file, name); err != nil {
		return fmt.Errorf("change recipe to %q: %w", name, err)
	}
	a.Log.Info("recipe changed", "from", old, "to", name, "by", by)
	a.audit(by, "recipe.change", old+" -> "+name)
	return nil
}

// judgeWith prepares the scorers and detectors of file's recipe and swaps
// them into the loop; on an error the loop keeps what it had.
func (a *App) judgeWith(file *defects.File, recipe string) error {
	view, err := file.ForRecipe(recipe)
	if err != nil {
		return err
	}
	scorers, err := a.prepareScorers(view)
	if err != nil {
		return err
	}
	dets := a.prepareDetectors(view, scorers)
	// The status names what is judged with before the loop swaps (the swap
	// cannot fail), so no verdict of the new classes or recipe comes out
	// while the status still names the old ones. A reload brings a new file;
	// a recipe change keeps the file, and its reload status with it.
	a.mu.Lock()
	reloaded := a.file != file
	a.file, a.recipe = file, recipe
	a.mu.Unlock()
	if reloaded {
		a.reload.set(file.Hash(), nil)
	}
	if a.loop != nil {
		a.loop.SetJudges(scorers, dets)
		a.swappedDetectors()
	}
	if err := a.saveRecipe(recipe); err != nil {
		a.Log.Error("the active recipe is not saved; a restart goes back to the saved one", "recipe", recipe, "err", err)
	}
	return nil
}

// startRecipe is the recipe to judge with: the saved one when the file
// still has it, else the file's first; "" without recipes.
func (a *App) startRecipe(file *defects.File, current string) string {
	names := file.RecipeNames()
	if len(names) == 0 {
		return ""
	}
	if current == "" {
		current = a.loadRecipe()
	}
	if slices.Contains(names, current) {
		return current
	}
	if current != "" {
		a.Log.Warn("recipe no longer in the defect-class file; judging with the first", "recipe", current, "now", names[0])
		a.audit("linesight", "recipe.change", current+" -> "+names[0]+" (no longer in "+file.Name+")")
	}
	return names[0]
}

func (a *App) loadRecipe() string {
	if a.Config.DataDir == "" {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(a.Config.DataDir, RecipeFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			a.Log.Error("saved recipe unreadable; judging with the first", "err", err)
		}
		return ""
	}
	return strings.TrimSpace(string(data))
}

// saveRecipe writes the name beside and renames it over the file, so a
// power cut leaves the old name or the new one.
func (a *App) saveRecipe(name string) error {
	if a.Config.DataDir == "" {
		return nil
	}
	path := filepath.Join(a.Config.DataDir, RecipeFile)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// audit records an action in the audit log when the appliance has one.
func (a *App) audit(user, action, detail string) {
	if a.Audit == nil {
		return
	}
	if err := a.Audit(user, action, detail); err != nil {
		a.Log.Error("audit log: not recorded", "action", action, "detail", detail, "err", err)
	}
}

var _ plc.Line = (*App)(nil)
