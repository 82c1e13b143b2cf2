package cli

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/linesight/linesight/appliance/users"
)

// First boot shows the one-time admin password on stdout (the console) and
// keeps it in a file only its writer (root on the box) may read; the admin
// must change it at the first login; later boots and the appliance's own
// start show nothing.
func TestFirstBootShowsAOneTimeAdminPassword(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	r := mustRun(t, "", "firstboot", "--data-dir", dataDir)
	m := boxedPassword.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no framed password on stdout:\n%s", r.stdout)
	}
	password := m[1]
	file := filepath.Join(dataDir, users.InitialPasswordFile)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatalf("no password file: %v", err)
	}
	if st.Mode().Perm() != 0o600 || int(st.Sys().(*syscall.Stat_t).Uid) != os.Getuid() {
		t.Errorf("%s: mode %v, owner %d; want 0600 and its writer %d", file, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid, os.Getuid())
	}
	if data, err := os.ReadFile(file); err != nil {
		t.Fatal(err)
	} else if string(data) != password+"\n" {
		t.Errorf("%s holds %q, want the password shown", file, data)
	}
	store, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	users, err := store.Users()
	if cerr := store.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Name != "admin" || !users[0].MustChangePassword {
		t.Fatalf("users after first boot: %+v, want one admin who must change the password", users)
	}

	if r := mustRun(t, "", "firstboot", "--data-dir", dataDir); r.stdout != "" {
		t.Errorf("the second boot printed:\n%s", r.stdout)
	}
	cfg := runConfig{Dir: dir, Cameras: triggeredCam0, Rest: webOnPort0}.write(t)
	a := startAppliance(t, cfg)
	if code := a.stop(t); code != 0 {
		t.Errorf("run exited %d:\n%s", code, a.Log.String())
	}
	if strings.Contains(a.Log.String(), password) || boxedPassword.MatchString(a.Log.String()) {
		t.Errorf("the appliance showed a password after first boot:\n%s", a.Log.String())
	}
	if data, err := os.ReadFile(file); err != nil {
		t.Fatal(err)
	} else if string(data) != password+"\n" {
		t.Errorf("the password file changed to %q before the first login", data)
	}
}

// As root, first boot hands the users' store to the service's user and
// keeps the password file root's.
func TestFirstBootHandsTheStoreToTheServiceUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to hand a file to another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	dataDir := t.TempDir()
	mustRun(t, "", "firstboot", "--data-dir", dataDir, "--owner", "nobody")
	uid, err := strconv.Atoi(nobody.Uid)
	if err != nil {
		t.Fatal(err)
	}
	owner := func(name string) int {
		st, err := os.Stat(filepath.Join(dataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return int(st.Sys().(*syscall.Stat_t).Uid)
	}
	if got := owner(users.StoreFile); got != uid {
		t.Errorf("%s owned by %d, want nobody (%d)", users.StoreFile, got, uid)
	}
	if got := owner(users.InitialPasswordFile); got != 0 {
		t.Errorf("%s owned by %d, want root", users.InitialPasswordFile, got)
	}
	if r := run(t, "", "firstboot", "--data-dir", t.TempDir(), "--owner", "no-such-user-here"); r.code != 1 || !strings.Contains(r.stder, "--owner") {
		t.Errorf("unknown owner: exit %d, %s", r.code, r.stder)
	}
}
