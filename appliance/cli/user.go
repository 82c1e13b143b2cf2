package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/web"
)

// userAdd creates a dashboard user, or sets the password and role of an
// existing one, in the web store of the configured data directory.
func userAdd(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("user add", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file: its data_dir holds the users")
	name := fs.String("name", "", "user name")
	role := fs.String("role", web.RoleOperator, "operator, engineer or admin")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || *name == "" {
		return fmt.Errorf("need --config FILE and --name NAME")
	}
	if !web.ValidRole(*role) {
		return web.ErrBadRole
	}
	cfg, err := config.LoadAppliance(*cfgPath)
	if err != nil {
		return err
	}
	password, err := readPassword(stdio)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	store, err := web.OpenStore(filepath.Join(cfg.DataDir, web.StoreFile))
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	verb, action := "added", "user.add"
	if _, err := store.User(*name); err == nil {
		if _, err := store.UpdateUser(*name, *role, password, now); err != nil {
			return err
		}
		verb, action = "updated", "user.update"
	} else if _, err := store.AddUser(*name, *role, password, now); err != nil {
		return err
	}
	if err := store.Audit(web.AuditEntry{At: now.UTC(), User: "cli", Action: action, Detail: *name + " (" + *role + ")"}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	fmt.Fprintf(stdio.Out, "user %s %s with role %s\n", *name, verb, *role)
	return nil
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
		return "", web.ErrBadPassword
	}
	return password, nil
}

func stty(tty *os.File, arg string) error {
	cmd := exec.Command("stty", arg)
	cmd.Stdin = tty
	return cmd.Run()
}
