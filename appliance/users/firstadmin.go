package users

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// InitialPasswordFile is the file in the data directory that holds the
// generated first admin's password, readable by its owner only, until the
// password is changed.
const InitialPasswordFile = "initial-admin-password"

// PrepareFirstAdmin creates the first admin when the store has no users and
// writes its password to InitialPasswordFile in dataDir (mode 0600). It
// returns the password and the file, or "" for both when users existed; then
// a file left from before is removed once no one must change a password.
func PrepareFirstAdmin(store *Store, dataDir string, now time.Time) (password, file string, err error) {
	path := filepath.Join(dataDir, InitialPasswordFile)
	password, err = store.EnsureAdmin(now)
	if err != nil {
		return "", "", fmt.Errorf("create the first admin: %w", err)
	}
	if password == "" {
		return "", "", ForgetInitialPassword(store, path)
	}
	if err := writePrivate(path, []byte(password+"\n")); err != nil {
		return "", "", fmt.Errorf("write the first admin's password: %w", err)
	}
	return password, path, nil
}

// writePrivate replaces path with data, readable and writable by the owner
// only, never showing a partial file.
func writePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ForgetInitialPassword removes the initial password file when no account
// must change its password any more: the password in it is then stale.
func ForgetInitialPassword(store *Store, path string) error {
	all, err := store.Users()
	if err != nil {
		return err
	}
	for _, u := range all {
		if u.MustChangePassword {
			return nil
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the initial admin password file: %w", err)
	}
	return nil
}
