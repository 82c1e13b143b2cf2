package cli

import (
	"context"
	"fmt"

	"github.com/linesight/linesight/appliance/localapi"
)

// recipeCmd lists the running appliance's recipes and, given a name,
// changes the active one: it takes effect between two batches and is
// audited as user cli (docs/recipes.md).
func recipeCmd(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("recipe", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file (the running appliance's data directory)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("recipe: name at most one recipe to change to")
	}
	cfg, err := updateConfig(fs, *cfgPath)
	if err != nil {
		return err
	}
	c, err := localapi.Dial(ctx, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("recipe: the appliance must be running: %w", err)
	}
	defer c.Close()
	r, err := c.Recipe(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("recipe: %w", err)
	}
	if len(r.Recipes) == 0 {
		fmt.Fprintf(stdio.Out, "the defect-class file %s has no recipes\n", cfg.Defects)
		return nil
	}
	for i, name := range r.Recipes {
		mark := " "
		if name == r.Recipe {
			mark = "*"
		}
		fmt.Fprintf(stdio.Out, "%s %d %s\n", mark, i, name)
	}
	return nil
}
