package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/internal/yamlconf"
	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// checkConfig validates an appliance file, the defect-class file it names
// and the presence of the model bundle's files, without opening the model
// or the cameras.
func checkConfig(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("check-config", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file (or give it as the argument)")
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: linesight check-config --config FILE   (or: linesight check-config FILE)\n\nValidates the appliance configuration, its defect-class file and the model bundle's files;\nprints every problem with its file, line and key.")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	file := *cfgPath
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case file == "" || fs.NArg() > 0:
		fs.Usage()
		return errUsage
	}
	c, err := config.LoadAppliance(file)
	if err != nil {
		var problems yamlconf.Errors
		if !errors.As(err, &problems) {
			return err
		}
		for _, p := range problems {
			fmt.Fprintln(stdio.Err, p)
		}
		return fmt.Errorf("%s: %d %s", file, len(problems), plural(len(problems), "problem"))
	}
	if err := bundle.Check(c.Model.Bundle, c.Model.Variant); err != nil {
		problems := strings.Split(err.Error(), "\n")
		for _, p := range problems {
			fmt.Fprintf(stdio.Err, "%s: model.bundle: %s\n", file, p)
		}
		return fmt.Errorf("%s: %d %s", file, len(problems), plural(len(problems), "problem"))
	}
	fmt.Fprintf(stdio.Out, "%s: ok\n", file)
	rows := summary(c)
	width := 0
	for _, row := range rows {
		width = max(width, len(row[0]))
	}
	for _, row := range rows {
		fmt.Fprintf(stdio.Out, "  %-*s %s\n", width, row[0], row[1])
	}
	if f := c.Classes(); f != nil {
		for _, name := range setNames(f) {
			for _, p := range goldenProblems(c.DataDir, f.Sets[name]) {
				fmt.Fprintf(stdio.Out, "warning: %s: %s\n", c.Defects, p)
			}
		}
	}
	return nil
}

// summary is what the file sets up, in a few lines an integrator can check.
func summary(c *config.Config) [][2]string {
	cams := make([]string, len(c.Cameras))
	for i, cam := range c.Cameras {
		cams[i] = fmt.Sprintf("%s (%s, %s)", cam.ID, cam.Source.Kind, cam.Mode)
	}
	providers := make([]string, len(c.Model.Providers))
	for i, p := range c.Model.Providers {
		providers[i] = p.Name
	}
	mqtt, web := "disabled", "off"
	if c.MQTT.Broker != "" {
		mqtt = c.MQTT.Broker + " as " + c.MQTT.ClientID
	}
	if c.Web.Listen != "" {
		web = c.Web.Listen
	}
	return [][2]string{
		{"line", c.Line},
		{"cameras", fmt.Sprintf("%d: %s", len(c.Cameras), strings.Join(cams, ", "))},
		{"model", fmt.Sprintf("%s (%s; providers: %s)", c.Model.Bundle, c.Model.Variant, strings.Join(providers, ", "))},
		{"defects", fmt.Sprintf("%s (sets: %s)", c.Defects, strings.Join(c.Classes().SetNames(), ", "))},
		{"mqtt", mqtt},
		{"web", web},
		// Named as in the MQTT status: two different hashes.
		{"config_hash", c.Hash()},
		{"defects_hash", c.Classes().Hash()},
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
