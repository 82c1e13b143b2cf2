package cli

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/linesight/linesight/appliance/users"
)

// firstBoot creates the dashboard's first admin before the appliance first
// starts, as root on the box: the one-time password goes to stdout (the
// device console, in the first-boot unit) and to a file in the data
// directory readable by root only; the users' store is handed to the
// service's user. The dashboard forces a new password at the first login and
// then removes the file. With an admin already there it does nothing.
func firstBoot(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("firstboot", stdio)
	dataDir := fs.String("data-dir", "/var/lib/linesight", "the appliance's data directory")
	owner := fs.String("owner", "", "the user the appliance runs as, who gets the users' store (default: the caller)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	uid, gid := -1, -1
	if *owner != "" {
		u, err := user.Lookup(*owner)
		if err != nil {
			return fmt.Errorf("--owner: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	storePath := filepath.Join(*dataDir, users.StoreFile)
	store, err := users.OpenStore(storePath)
	if err != nil {
		return err
	}
	password, passwordFile, err := users.PrepareFirstAdmin(store, *dataDir, time.Now())
	if cerr := store.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close web store %s: %w", storePath, cerr)
	}
	if err != nil {
		return err
	}
	if uid >= 0 {
		// The password file stays root's: the service's user may remove it
		// (it owns the directory) once the password is changed, not read it.
		if err := os.Chown(storePath, uid, gid); err != nil {
			return fmt.Errorf("hand the users' store to %s: %w", *owner, err)
		}
	}
	if password != "" {
		fmt.Fprint(stdio.Out, firstAdminBox("admin", password, passwordFile))
	}
	return nil
}
