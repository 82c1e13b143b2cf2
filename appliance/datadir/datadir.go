// Package datadir holds what is done to the data directory as a whole while
// no appliance uses it: taking it for a command (Lock) and the factory
// reset (Wipe). Backup and restore build on Lock.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
)

// ErrInUse means an appliance, or another command, has the data
// directory's files open.
var ErrInUse = errors.New("in use")

// heldFiles are the files a running appliance holds with bbolt's lock: the
// journal always, the users' store while the dashboard is on.
var heldFiles = []string{journal.FileName, users.StoreFile}

// Lock takes the locks bbolt takes on the data directory's files, so no
// appliance starts on them, and no other command opens them, until unlock
// is called. It fails with ErrInUse, naming the file, when one is held.
func Lock(dir string) (unlock func(), err error) {
	var held []*os.File
	unlock = func() {
		for _, f := range held {
			f.Close() // closing drops the lock
		}
	}
	for _, name := range heldFiles {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			unlock()
			return nil, fmt.Errorf("check %s: %w", path, err)
		}
		held = append(held, f)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			unlock()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%s is %w by a running appliance or another linesight command: stop it first (systemctl stop linesight)", path, ErrInUse)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	return unlock, nil
}

// Entries lists the names in dir, for telling what Wipe would remove.
func Entries(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list the data directory: %w", err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Wipe removes everything in dir, keeping dir itself (it may be the mount
// point of the data partition). The caller holds Lock. It goes on past a
// failure and reports every entry it could not remove.
func Wipe(dir string) error {
	names, err := Entries(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wipe %s: %w", dir, err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wipe %s: %w", dir, err)
	}
	defer f.Close()
	return f.Sync()
}
