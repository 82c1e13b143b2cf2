// Package tmpfs gives tests a small file system of their own, to fill up:
// a tmpfs mounted on a test directory. Mounting needs root (CI runs as
// root); elsewhere the test is skipped, or fails when
// LINESIGHT_REQUIRE_REFERENCE=1.
package tmpfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
)

// Mount mounts a tmpfs of size bytes on a new directory and unmounts it when
// the test ends.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size))
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("mount a %d-byte tmpfs on %s: %v (needs root and CAP_SYS_ADMIN)", size, dir, err))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Filler is a file that takes a file system's free space.
type Filler struct {
	t    testing.TB
	path string
	size int64
}

// Fill writes a file in dir until the file system is full.
func Fill(t testing.TB, dir string) *Filler {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	fl := &Filler{t: t, path: path}
	for {
		n, err := f.Write(block)
		fl.size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			return fl
		}
		if err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
	}
}

// Free gives n bytes of the filler back to the file system.
func (f *Filler) Free(n int64) {
	f.t.Helper()
	f.size = max(f.size-n, 0)
	if err := os.Truncate(f.path, f.size); err != nil {
		f.t.Fatalf("free %d bytes: %v", n, err)
	}
}

// Remove deletes the filler.
func (f *Filler) Remove() {
	f.t.Helper()
	if err := os.Remove(f.path); err != nil {
		f.t.Fatal(err)
	}
	f.size = 0
}

// Free is the free space of the file system holding dir.
func Free(t testing.TB, dir string) int64 {
	t.Helper()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	return int64(fs.Bavail) * int64(fs.Bsize)
}
