package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
)

// goldenFlags are the flags of golden add|list|remove.
type goldenFlags struct {
	config, set *string
}

// goldenTarget is the data directory and the set a golden command works on,
// the set checked against the defect-class file.
func (g *goldenFlags) open(name string, args []string, stdio Stdio, operands string) (*config.Config, []string, error) {
	fs := newFlags("golden "+name, stdio)
	g.config = fs.String("config", "", "appliance configuration file: its data_dir holds the golden samples")
	g.set = fs.String("set", "", "class set of the defect-class file")
	if err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	if *g.config == "" || *g.set == "" || (operands != "" && fs.NArg() == 0) {
		fmt.Fprintf(stdio.Err, "Usage: linesight golden %s --config FILE --set NAME %s\n", name, operands)
		return nil, nil, errUsage
	}
	cfg, err := config.LoadAppliance(*g.config)
	if err != nil {
		return nil, nil, err
	}
	if err := golden.CheckSet(setNames(cfg.Classes()), *g.set); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Defects, err)
	}
	return cfg, fs.Args(), nil
}

func setNames(f *defects.File) []string {
	if f == nil {
		return nil
	}
	names := make([]string, 0, len(f.Sets))
	for n := range f.Sets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// dialGolden reaches the running appliance's golden samples; nil when none
// runs (or it does not manage them): the command changes the files itself.
func dialGolden(ctx context.Context, dataDir string) (*localapi.Client, error) {
	c, err := localapi.Dial(ctx, dataDir)
	if errors.Is(err, localapi.ErrNotRunning) {
		return nil, nil
	}
	return c, err
}

func cliUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username + " (cli)"
	}
	return "cli"
}

func goldenAdd(ctx context.Context, args []string, stdio Stdio) error {
	var g goldenFlags
	cfg, paths, err := g.open("add", args, stdio, "IMAGE...")
	if err != nil {
		return err
	}
	c, err := dialGolden(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
	}
	store := golden.NewStore(cfg.DataDir, nil)
	by := cliUser()
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("golden add: %w", err)
		}
		var smp golden.Sample
		if c != nil {
			smp, err = c.GoldenAdd(ctx, *g.set, by, data)
			if errors.Is(err, localapi.ErrNoGolden) {
				c.Close()
				c = nil
			}
		}
		if c == nil {
			smp, err = store.Add(*g.set, data, golden.Origin{By: by, Source: golden.SourceFile})
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(stdio.Out, "%s: added to set %s as %s\n", path, *g.set, smp.ID)
	}
	if c != nil {
		fmt.Fprintln(stdio.Out, "the running appliance rebuilds the set's bank in the background (golden list shows its status)")
	}
	return nil
}

func goldenRemove(ctx context.Context, args []string, stdio Stdio) error {
	var g goldenFlags
	cfg, ids, err := g.open("remove", args, stdio, "ID...")
	if err != nil {
		return err
	}
	c, err := dialGolden(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
	}
	store := golden.NewStore(cfg.DataDir, nil)
	for _, id := range ids {
		if c != nil {
			_, err = c.GoldenRemove(ctx, *g.set, id)
			if errors.Is(err, localapi.ErrNoGolden) {
				c.Close()
				c = nil
			}
		}
		if c == nil {
			_, err = store.Remove(*g.set, id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdio.Out, "%s: removed from set %s\n", id, *g.set)
	}
	return nil
}

func goldenList(ctx context.Context, args []string, stdio Stdio) error {
	var g goldenFlags
	cfg, rest, err := g.open("list", args, stdio, "")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("golden list takes no arguments, got %q", rest)
	}
	st, err := goldenStatus(ctx, cfg, *g.set)
	if err != nil {
		return err
	}
	threshold := "none"
	if st.Threshold != nil {
		threshold = fmt.Sprintf("%.4f", *st.Threshold)
	}
	if st.Auto {
		threshold += " (auto)"
	}
	fmt.Fprintf(stdio.Out, "set %s: %d golden samples, status %s, threshold %s\n", st.Set, len(st.Samples), st.Status, threshold)
	if st.Error != "" {
		fmt.Fprintf(stdio.Out, "  %s\n", st.Error)
	}
	fmt.Fprint(stdio.Out, coresetLine(st.Coreset))
	w := tabwriter.NewWriter(stdio.Out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tADDED\tBY\tSOURCE\tLOO SCORE")
	for _, s := range st.Samples {
		src := string(s.Source)
		if s.RecordID != 0 {
			src = fmt.Sprintf("%s #%d", src, s.RecordID)
		}
		loo := "-"
		if s.LOOScore != nil {
			loo = fmt.Sprintf("%.4f", *s.LOOScore)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.AddedAt.Local().Format(time.DateTime), s.AddedBy, src, loo)
	}
	return w.Flush()
}

// goldenStatus is the set's status from the running appliance, or, when none
// runs, from the files (no bank: the appliance builds it when it starts).
func goldenStatus(ctx context.Context, cfg *config.Config, set string) (golden.SetStatus, error) {
	c, err := dialGolden(ctx, cfg.DataDir)
	if err != nil {
		return golden.SetStatus{}, err
	}
	if c != nil {
		defer c.Close()
		st, err := c.GoldenStatus(ctx, set)
		if !errors.Is(err, localapi.ErrNoGolden) {
			return st, err
		}
	}
	samples, err := golden.NewStore(cfg.DataDir, nil).List(set)
	if err != nil {
		return golden.SetStatus{}, err
	}
	st := golden.SetStatus{Set: set, Status: "stopped", Samples: make([]golden.SampleStatus, len(samples))}
	if a := cfg.Classes().Sets[set].Anomaly; a != nil {
		st.Enabled, st.Auto = a.Golden, a.Golden && a.Auto()
		if !a.Auto() {
			t := a.Threshold
			st.Threshold = &t
		}
	}
	for i, s := range samples {
		st.Samples[i] = golden.SampleStatus{ID: s.ID, AddedAt: s.AddedAt, AddedBy: s.AddedBy, Source: s.Source, RecordID: s.RecordID}
	}
	return st, nil
}

// goldenProblems are check-config's findings about a set's golden samples.
func goldenProblems(dataDir string, set *defects.ClassSet) []string {
	a := set.Anomaly
	if a == nil || !a.Golden {
		return nil
	}
	samples, err := golden.NewStore(dataDir, nil).List(set.Name)
	if err != nil {
		return []string{err.Error()}
	}
	switch {
	case len(samples) < defects.MinGolden:
		return []string{fmt.Sprintf("set %s: anomaly.golden is on and the set has no golden samples: add 8 to 16 good parts (linesight golden add, or the dashboard)", set.Name)}
	case a.Auto() && len(samples) < golden.MinAuto:
		return []string{fmt.Sprintf("set %s: threshold: auto needs at least %d golden samples, the set has %d: until then no part FAILs as an anomaly; add another good part or give a number", set.Name, golden.MinAuto, len(samples))}
	}
	return nil
}

// coresetLine says how a set's bank was bounded, when it was.
func coresetLine(layers []anomaly.CoresetLayer) string {
	var parts []string
	for _, l := range layers {
		if l.Kept < l.Of {
			parts = append(parts, fmt.Sprintf("layer %d: %d of %d patches, coverage %.4f, map raised by at most %.4f", l.Layer, l.Kept, l.Of, l.Coverage, l.MaxRise))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "  bank bounded (coreset): " + strings.Join(parts, "; ") + "\n"
}
