package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/backup"
	"github.com/linesight/linesight/appliance/datadir"
	"github.com/linesight/linesight/appliance/users"
)

// takeDataDir reads where the configuration keeps things and takes the
// data directory, refusing while an appliance runs on it.
func takeDataDir(cfgPath, doing string) (backup.Paths, func(), error) {
	if cfgPath == "" {
		return backup.Paths{}, nil, fmt.Errorf("need --config FILE")
	}
	p, err := backup.PathsOf(cfgPath)
	if err != nil {
		return p, nil, err
	}
	unlock, err := datadir.Lock(p.DataDir)
	if err != nil {
		return p, nil, fmt.Errorf("%s refused: %w", doing, err)
	}
	return p, unlock, nil
}

func backupData(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("backup", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file: it and what it names are backed up")
	out := fs.String("out", "", "the backup file to write (a gzipped tar archive)")
	withImages := fs.Bool("with-images", false, "also back up the journal and its images")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("need --out FILE")
	}
	p, unlock, err := takeDataDir(*cfgPath, "backup")
	if err != nil {
		return err
	}
	defer unlock()
	// Written beside its name and renamed when complete, so a failed or
	// interrupted backup leaves no file that looks like one.
	tmp := *out + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create the backup: %w", err)
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	m, err := backup.Create(w, p, backup.Options{WithImages: *withImages, LineSight: Version})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	var size int64
	for _, file := range m.Files {
		size += file.Size
	}
	fmt.Fprintf(stdio.Out, "backed up %d files (%.1f MB) of %s and %s to %s\n", len(m.Files), float64(size)/(1<<20), p.Config, p.DataDir, *out)
	return nil
}

func restoreData(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("restore", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file: the backup replaces it and what it names")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("need --config FILE and one backup FILE")
	}
	src := fs.Arg(0)
	p, unlock, err := takeDataDir(*cfgPath, "restore")
	if err != nil {
		return err
	}
	defer unlock()
	m, err := backup.Restore(src, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "restored %d files of the backup made %s (linesight %s) into %s and %s\n",
		len(m.Files), m.CreatedAt.Format(time.RFC3339), m.LineSight, p.Config, p.DataDir)
	// The restored users' store carries its own audit log: the restore
	// goes on record there.
	storePath := filepath.Join(p.DataDir, users.StoreFile)
	if _, err := os.Stat(storePath); err == nil {
		store, err := users.OpenStore(storePath)
		if err != nil {
			return fmt.Errorf("restored, but the audit log was not written: %w", err)
		}
		defer store.Close()
		e := users.AuditEntry{At: time.Now().UTC(), User: "cli", Action: "backup.restore",
			Detail: fmt.Sprintf("%s, made %s", absPath(src), m.CreatedAt.Format(time.RFC3339))}
		if err := store.Audit(e); err != nil {
			return fmt.Errorf("restored, but the audit log was not written: %w", err)
		}
	}
	return nil
}

// resetWord is what the operator types to confirm a factory reset.
const resetWord = "RESET"

func factoryReset(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("factory-reset", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file: its data_dir is wiped")
	yes := fs.Bool("yes", false, "do not ask for the typed confirmation")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	p, unlock, err := takeDataDir(*cfgPath, "factory reset")
	if err != nil {
		return err
	}
	defer unlock()
	names, err := datadir.Entries(p.DataDir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdio.Out, "%s does not exist: nothing to reset\n", p.DataDir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Err, "Factory reset: this removes everything in %s (%d entries: %s):\n"+
		"the journal and its images, the users and the audit log, golden samples, caches.\n",
		p.DataDir, len(names), strings.Join(names, ", "))
	if p.Model != "" && strings.HasPrefix(p.Model, filepath.Clean(p.DataDir)+string(filepath.Separator)) {
		fmt.Fprintf(stdio.Err, "The model bundle %s lies in it and goes too: install one again with `linesight model install`.\n", p.Model)
	}
	fmt.Fprintf(stdio.Err, "The firmware and the configuration %s stay. A backup first: `linesight backup`.\n", p.Config)
	if !*yes {
		fmt.Fprintf(stdio.Err, "Type %s to go on: ", resetWord)
		line, _ := bufio.NewReader(stdio.In).ReadString('\n')
		if strings.TrimSpace(line) != resetWord {
			return fmt.Errorf("not confirmed (typed %q, not %s): nothing was removed", strings.TrimSpace(line), resetWord)
		}
	}
	if err := datadir.Wipe(p.DataDir); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "wiped %s: the appliance starts as on its first boot (a new first admin and password)\n", p.DataDir)
	return nil
}
