package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/appliance/update"
	"github.com/linesight/linesight/appliance/users"
)

// updateConfig reads the configuration a firmware command works on: the
// update history and downloads live in its data directory.
func updateConfig(fs *flag.FlagSet, path string) (*config.Config, error) {
	if path == "" {
		return nil, fmt.Errorf("%s: need --config FILE", fs.Name())
	}
	return config.Load(path)
}

// updateInstall hands a signed bundle to RAUC, which writes the other root
// slot; the box starts it at the next reboot (docs/firmware.md).
func updateInstall(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("update install", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file (the update history is in its data directory)")
	bus := fs.String("bus", "", "D-Bus address of the RAUC service (default: the system bus)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("update install: name one bundle: a .raucb file or an http(s) URL")
	}
	cfg, err := updateConfig(fs, *cfgPath)
	if err != nil {
		return err
	}
	source := fs.Arg(0)
	in := &update.Installer{Bus: *bus, History: update.OpenHistory(cfg.DataDir),
		DownloadDir: filepath.Join(cfg.DataDir, update.DownloadFolder)}
	by := cliUser()
	last := -1
	entry, err := in.Install(ctx, update.Request{Source: source, User: by}, func(p update.Progress) {
		if p.Percent != last {
			fmt.Fprintf(stdio.Out, "%3d%% %s\n", p.Percent, p.Message)
			last = p.Percent
		}
	})
	_, aerr := audit(ctx, cfg.DataDir, users.AuditEntry{At: time.Now().UTC(), User: by, Action: "firmware.install", Detail: update.AuditDetail(source, entry)}, logger(stdio))
	if err != nil {
		return errors.Join(fmt.Errorf("update install: %w (the running slot is unchanged)", err), aerr)
	}
	fmt.Fprintf(stdio.Out, "installed version %s into %s: reboot to start it; it is kept once it passes its health gate, else the box returns to this slot by itself\n",
		entry.Version, entry.Slot)
	if aerr != nil {
		return fmt.Errorf("the update is installed, but the audit log was not written: %w", aerr)
	}
	return nil
}

// updateGate is the health gate a freshly booted slot must pass
// (firmware/rauc/linesight-health-gate.service): it marks the slot good
// once the appliance is ready and inspecting, and fails otherwise, so the
// unit reboots and the bootloader falls back.
func updateGate(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("update gate", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file (the running appliance's data directory)")
	bus := fs.String("bus", "", "D-Bus address of the RAUC service (default: the system bus)")
	timeout := fs.Duration("timeout", update.DefaultGateTimeout, "how long the appliance has to become ready and inspect")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, err := updateConfig(fs, *cfgPath)
	if err != nil {
		return err
	}
	rauc, err := update.Dial(ctx, *bus)
	if err != nil {
		return err
	}
	defer rauc.Close()
	health := func(ctx context.Context) (update.Health, error) {
		c, err := localapi.Dial(ctx, cfg.DataDir)
		if err != nil {
			return update.Health{}, err
		}
		defer c.Close()
		return c.Health(ctx)
	}
	history := update.OpenHistory(cfg.DataDir)
	before, err := history.Entries()
	if err != nil {
		return err
	}
	entry, err := update.Gate(ctx, rauc, history, update.GateConfig{Timeout: *timeout, Health: health})
	aerr := auditHistory(ctx, cfg.DataDir, history, len(before), stdio)
	if err != nil {
		return errors.Join(fmt.Errorf("update gate: slot %s (version %s) not marked good: %w", entry.Slot, entry.Version, err), aerr)
	}
	fmt.Fprintf(stdio.Out, "slot %s (version %s) is good\n", entry.Slot, entry.Version)
	return aerr
}

// auditHistory puts the history's entries after the first `from` (what
// the gate recorded: good, gate-failed, rolled-back) in the audit log, as
// done by the health gate.
func auditHistory(ctx context.Context, dataDir string, history *update.History, from int, stdio Stdio) error {
	entries, err := history.Entries()
	if err != nil {
		return fmt.Errorf("audit the update history: %w", err)
	}
	for _, e := range entries[min(from, len(entries)):] {
		detail := fmt.Sprintf("slot %s, version %s: %s", e.Slot, e.Version, e.Outcome)
		if e.Error != "" {
			detail += ": " + e.Error
		}
		if _, err := audit(ctx, dataDir, users.AuditEntry{At: e.At.UTC(), User: e.User, Action: "firmware." + e.Outcome, Detail: detail}, logger(stdio)); err != nil {
			return fmt.Errorf("audit the update history: %w", err)
		}
	}
	return nil
}

// updateHistory prints the firmware update history, oldest first.
func updateHistory(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("update history", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file")
	asJSON := fs.Bool("json", false, "one JSON object per entry")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, err := updateConfig(fs, *cfgPath)
	if err != nil {
		return err
	}
	entries, err := update.OpenHistory(cfg.DataDir).Entries()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdio.Out)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdio.Out, "no firmware update yet")
		return nil
	}
	w := tabwriter.NewWriter(stdio.Out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "WHEN\tWHO\tVERSION\tSLOT\tOUTCOME\tERROR")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format(time.DateTime), e.User, e.Version, e.Slot, e.Outcome, e.Error)
	}
	return w.Flush()
}
