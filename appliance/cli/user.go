package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/appliance/users"
)

// userAdd creates a dashboard user, or sets the password and role of an
// existing one, in the web store of the configured data directory: through
// the appliance when one runs there (it holds the store), else in the file.
func userAdd(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("user add", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file: its data_dir holds the users")
	name := fs.String("name", "", "user name")
	role := fs.String("role", users.RoleOperator, "operator, engineer or admin")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || *name == "" {
		return fmt.Errorf("need --config FILE and --name NAME")
	}
	if !users.ValidRole(*role) {
		return users.ErrBadRole
	}
	cfg, err := config.LoadAppliance(*cfgPath)
	if err != nil {
		return err
	}
	password, err := readPassword(stdio)
	if err != nil {
		return err
	}
	created, err := setUser(ctx, cfg.DataDir, *name, *role, password, logger(stdio))
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "added"
	}
	fmt.Fprintf(stdio.Out, "user %s %s with role %s\n", *name, verb, *role)
	return nil
}

// setUser runs users.Store.SetUser on the running appliance's store, or on
// the file when no appliance holds it.
func setUser(ctx context.Context, dataDir, name, role, password string, log *slog.Logger) (created bool, err error) {
	c, err := localapi.Dial(ctx, dataDir)
	if err == nil {
		defer c.Close()
		created, err = c.SetUser(ctx, name, role, password)
		if !errors.Is(err, localapi.ErrNoUsers) {
			switch {
			case err == nil && created:
				log.Info("the appliance is running: user added through it", "socket", c.Socket())
			case err == nil:
				log.Info("the appliance is running: user updated through it, and their dashboard sessions ended", "socket", c.Socket())
			}
			return created, err
		}
		// Its dashboard is off, so the store file is free.
	} else if !errors.Is(err, localapi.ErrNotRunning) {
		return false, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return false, fmt.Errorf("create data directory: %w", err)
	}
	store, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		return false, err
	}
	defer store.Close()
	return store.SetUser(name, role, password, "cli", time.Now())
}

// readPassword reads the first line of stdin; on a terminal it prompts and
// turns echo off while the password is typed.
func readPassword(stdio Stdio) (string, error) {
	if f, ok := stdio.In.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stdio.Err, "password: ")
			if stty(f, "-echo") == nil {
				defer func() { stty(f, "echo"); fmt.Fprintln(stdio.Err) }()
			}
		}
	}
	line, err := bufio.NewReader(stdio.In).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if len(password) < 8 || len(password) > 72 {
		return "", users.ErrBadPassword
	}
	return password, nil
}

func stty(tty *os.File, arg string) error {
	cmd := exec.Command("stty", arg)
	cmd.Stdin = tty
	return cmd.Run()
}
