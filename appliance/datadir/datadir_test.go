package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/journal"
)

func TestLockRefusesWhileTheJournalIsOpenAndHoldsItOff(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), journal.FileName) {
		t.Fatalf("lock beside an open journal: %v, want ErrInUse naming %s", err, journal.FileName)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("lock after the journal closed: %v", err)
	}
	// While held, an appliance cannot open the journal.
	if j, err := journal.Open(journal.Options{Dir: dir}); err == nil {
		if err := j.Close(); err != nil {
			t.Error(err)
		}
		t.Fatal("the journal opened while the data directory was locked")
	}
	unlock()
	j, err = journal.Open(journal.Options{Dir: dir})
	if err != nil {
		t.Fatalf("journal after unlock: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWipeEmptiesTheDirectoryAndKeepsIt(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.db", filepath.Join("golden", "cam0", "g.png"), ".hidden"} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Wipe(dir); err != nil {
		t.Fatal(err)
	}
	names, err := Entries(dir)
	if err != nil || len(names) != 0 {
		t.Fatalf("after wipe: %v %v, want an empty directory", names, err)
	}
}
