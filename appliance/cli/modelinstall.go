package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/appliance/modelstore"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// modelDigest prints the digest of each variant of a bundle: what a
// publisher hands out with it, and `model install --digest` checks.
func modelDigest(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model digest", stdio)
	dir := fs.String("bundle", "", "model bundle directory")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("need --bundle DIR")
	}
	b, err := bundle.Open(*dir)
	if err != nil {
		return err
	}
	for _, v := range b.Variants() {
		d, err := b.Digest(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdio.Out, "%s %s\n", v, d)
	}
	return nil
}

// modelStoreOf is the model store of the configuration at path.
func modelStoreOf(path string) (*config.Config, modelstore.Store, error) {
	if path == "" {
		return nil, modelstore.Store{}, fmt.Errorf("need --config FILE")
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, modelstore.Store{}, err
	}
	if cfg.Model.Bundle == "" {
		return nil, modelstore.Store{}, fmt.Errorf("%s: model.bundle is not set: it names where the model is installed", path)
	}
	return cfg, modelstore.Store{Path: cfg.Model.Bundle, Variant: cfg.Model.Variant}, nil
}

func modelInstall(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model install", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file: the bundle is installed at its model.bundle")
	src := fs.String("bundle", "", "the bundle to install: a directory, or a tar archive of one (.tar or .tar.gz)")
	want := fs.String("digest", "", "the digest of the configured variant that the bundle's publisher gave (`linesight model digest` prints it)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *src == "" || *want == "" {
		return fmt.Errorf("need --bundle DIR|FILE and --digest sha256:...")
	}
	cfg, store, err := modelStoreOf(*cfgPath)
	if err != nil {
		return err
	}
	in, err := store.Install(*src, *want)
	if errors.Is(err, modelstore.ErrAlreadyInstalled) {
		fmt.Fprintf(stdio.Out, "model %s is installed at %s already; nothing changed\n", *want, store.Path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("install %s: %w (nothing changed at %s)", *src, err, store.Path)
	}
	fmt.Fprintf(stdio.Out, "installed model %s at %s\n", in.Digest, store.Path)
	if in.Previous != "" {
		fmt.Fprintf(stdio.Out, "kept model %s for `linesight model rollback`\n", in.Previous)
	}
	return afterModelChange(ctx, stdio, cfg, users.AuditEntry{
		Action: "model.install", Detail: "from " + absPath(*src), FromHash: in.Previous, ToHash: in.Digest,
	})
}

func modelRollback(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model rollback", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file: the model at its model.bundle goes back to the previous one")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, store, err := modelStoreOf(*cfgPath)
	if err != nil {
		return err
	}
	in, err := store.Rollback()
	if err != nil {
		return fmt.Errorf("roll back %s: %w", store.Path, err)
	}
	fmt.Fprintf(stdio.Out, "model at %s is %s again; %s is kept, a second rollback returns to it\n", store.Path, in.Digest, in.Previous)
	return afterModelChange(ctx, stdio, cfg, users.AuditEntry{Action: "model.rollback", FromHash: in.Previous, ToHash: in.Digest})
}

// afterModelChange records the change in the audit log and tells the
// operator to restart a running appliance: it keeps the model it loaded
// (its files stay, as the previous bundle) until it starts again, so a
// line is never switched between two models in the middle of a shift by
// the file system alone.
func afterModelChange(ctx context.Context, stdio Stdio, cfg *config.Config, e users.AuditEntry) error {
	e.At, e.User = time.Now().UTC(), "cli"
	running, err := audit(ctx, cfg.DataDir, e, logger(stdio))
	if err != nil {
		return fmt.Errorf("the model changed, but the audit log was not written: %w", err)
	}
	if running {
		fmt.Fprintln(stdio.Out, "the running appliance keeps its model until it restarts: restart it to use this one (systemctl restart linesight)")
	}
	return nil
}

// audit appends e to the audit log: through the appliance when one runs
// on dataDir and holds the users' store, else in the store's file.
func audit(ctx context.Context, dataDir string, e users.AuditEntry, log *slog.Logger) (running bool, err error) {
	c, err := localapi.Dial(ctx, dataDir)
	if err == nil {
		defer c.Close()
		err = c.Audit(ctx, e)
		if !errors.Is(err, localapi.ErrNoUsers) {
			return true, err
		}
		running = true // its dashboard is off, so the store file is free
	} else if !errors.Is(err, localapi.ErrNotRunning) {
		return false, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return running, fmt.Errorf("create data directory: %w", err)
	}
	store, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		return running, err
	}
	defer store.Close()
	log.Debug("audit entry written to the store file", "action", e.Action)
	return running, store.Audit(e)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
