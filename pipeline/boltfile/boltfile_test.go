package boltfile

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/internal/testenv"
)

// sample writes a file with a large bucket (branch pages), a nested bucket,
// a small inline one and a value spanning overflow pages, and returns the
// values by "bucket/path key".
func sample(t *testing.T) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	r := rand.New(rand.NewPCG(1, 2))
	err = db.Update(func(tx *bolt.Tx) error {
		big, err := tx.CreateBucket([]byte("big"))
		if err != nil {
			return err
		}
		for i := range 3000 {
			k, v := fmt.Sprintf("key-%05d", i), strings.Repeat(string(rune('a'+r.IntN(26))), 20+r.IntN(80))
			if err := big.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
			want["big "+k] = v
		}
		if err := big.SetSequence(3000); err != nil {
			return err
		}
		nested, err := big.CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		if err := nested.Put([]byte("n1"), []byte("one")); err != nil {
			return err
		}
		want["big/nested n1"] = "one"
		small, err := tx.CreateBucket([]byte("small"))
		if err != nil {
			return err
		}
		if err := small.Put([]byte("s"), []byte("inline")); err != nil {
			return err
		}
		want["small s"] = "inline"
		large := strings.Repeat("L", 10000)
		if err := small.Put([]byte("large"), []byte(large)); err != nil {
			return err
		}
		want["small large"] = large
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, want
}

func walkAll(t *testing.T, path string) (map[string]string, map[string]uint64, []string) {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the file", f)
	got, seqs := map[string]string{}, map[string]uint64{}
	problems := f.Walk(func(e Entry) bool {
		name := strings.Join(e.Path, "/")
		if e.Bucket {
			seqs[strings.TrimPrefix(name+"/"+string(e.Key), "/")] = e.Sequence
			return true
		}
		got[name+" "+string(e.Key)] = string(e.Value)
		return true
	})
	return got, seqs, problems
}

func TestWalkReadsEveryKey(t *testing.T) {
	path, want := sample(t)
	if err := Preflight(path); err != nil {
		t.Fatal(err)
	}
	got, seqs, problems := walkAll(t, path)
	if len(problems) > 0 {
		t.Fatalf("problems in a sound file: %v", problems)
	}
	if len(got) != len(want) {
		t.Errorf("walk read %d values, the file has %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: read %.20q, want %.20q", k, got[k], v)
		}
	}
	if seqs["big"] != 3000 {
		t.Errorf("sequence of big %d, want 3000", seqs["big"])
	}
}

func TestPreflightPassesAMissingOrEmptyFile(t *testing.T) {
	dir := t.TempDir()
	if err := Preflight(filepath.Join(dir, "none.db")); err != nil {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Preflight(empty); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestPreflightRefusesATruncatedFile(t *testing.T) {
	path, _ := sample(t)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	need := int64(f.Meta.HighWater) * int64(f.Meta.PageSize)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{100, 4096, 8191, 16384, need / 2, need - 1} {
		cut := filepath.Join(t.TempDir(), "cut.db")
		if err := os.WriteFile(cut, data[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		err := Preflight(cut)
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("truncated to %d bytes: %v, want damaged", size, err)
		}
	}
	if err := Preflight(path); err != nil {
		t.Errorf("whole file: %v", err)
	}
}

func TestPreflightRefusesBadMetaPages(t *testing.T) {
	path, _ := sample(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := 4096
	for i := 0; i < 2; i++ { // both meta pages' checksums broken
		data[i*ps+pageHeader+20] ^= 0xff
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Preflight(path); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "meta") {
		t.Errorf("both meta pages broken: %v", err)
	}
}

// Garbage over the page holding a key is reported, and the rest is read.
func TestWalkSkipsAGarbagePage(t *testing.T) {
	path, want := sample(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := bytes.Index(data, []byte("key-01500"))
	if off < 0 {
		t.Fatal("key not found in the file")
	}
	ps := 4096
	r := rand.New(rand.NewPCG(3, 4))
	for i := off / ps * ps; i < (off/ps+1)*ps; i++ {
		data[i] = byte(r.UintN(256))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Preflight(path); err != nil {
		t.Fatalf("the meta, root and freelist pages are sound: %v", err)
	}
	got, _, problems := walkAll(t, path)
	if len(problems) == 0 {
		t.Fatal("no problem reported for a garbage page")
	}
	if _, ok := got["big key-01500"]; ok {
		t.Error("a key of the garbage page was read")
	}
	if got["big key-00000"] != want["big key-00000"] || got["big key-02999"] != want["big key-02999"] || got["small s"] != "inline" {
		t.Errorf("keys of sound pages were not read: %d of %d", len(got), len(want))
	}
	if len(got) < len(want)-200 {
		t.Errorf("read %d of %d values: a garbage page lost more than its own", len(got), len(want))
	}
}

// Guard turns bbolt's fault on a truncated file into an error.
func TestGuardTurnsAFaultIntoAnError(t *testing.T) {
	path, _ := sample(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	err = Guard(path, func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer testenv.Close(t, "the half database", db)
		return db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("big")).ForEach(func(k, v []byte) error { _ = bytes.Clone(v); return nil })
		})
	})
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("reading a half file: %v, want an error that says it is damaged", err)
	}
}

// A truncated file opens for copying out: Walk reports the pages it lacks
// and Scan finds the values of the pages it still has.
func TestOpenDamagedReadsATruncatedFile(t *testing.T) {
	path, want := sample(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	need := int(f.Meta.HighWater) * f.Meta.PageSize
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:need/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open of a truncated file: %v", err)
	}
	f, err = OpenDamaged(path)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the damaged file", f)
	if !errors.Is(f.Truncated, ErrDamaged) || !strings.Contains(f.Truncated.Error(), "truncated") {
		t.Errorf("Truncated: %v", f.Truncated)
	}
	if problems := f.Walk(func(Entry) bool { return true }); len(problems) == 0 {
		t.Error("Walk reported no missing page")
	}
	found := 0
	f.Scan(func(e Entry) {
		if v, ok := want["big "+string(e.Key)]; ok && v == string(e.Value) {
			found++
		}
	})
	if found == 0 {
		t.Error("Scan found no value in the pages the file still has")
	}
}
