package journal

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// writeV0 makes a schema-0 journal: one "verdicts" bucket of JSON verdicts
// keyed by big-endian id, as the pre-release appliance wrote it.
func writeV0(t *testing.T, dir string, verdicts map[uint64]defects.Verdict) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the v0 database", db)
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketV0Verdicts)
		if err != nil {
			return err
		}
		for id, v := range verdicts {
			raw, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Put(u64(id), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigratesSchema0(t *testing.T) {
	dir := t.TempDir()
	writeV0(t, dir, map[uint64]defects.Verdict{
		3:  verdict("cam0", 1, t0, defects.Pass, "good", "A"),
		7:  verdict("cam0", 2, t0.Add(time.Minute), defects.Fail, "scratch", "B"),
		12: verdict("cam1", 1, t0.Add(2*time.Minute), defects.Pass, "good", "A"),
	})

	// Read-only opening (the CLI) does not migrate; it says how to.
	if _, err := Open(Options{Dir: dir, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "schema version 0") {
		t.Errorf("read-only open of v0: %v", err)
	}

	j := mustOpen(t, testOptions(dir))
	p, err := j.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(p), []uint64{12, 7, 3}) {
		t.Errorf("migrated records %v, want [12 7 3]", ids(p))
	}
	if r := mustGet(t, j, 7); r.Class != "scratch" || r.Outcome != defects.Fail || r.PartID != "B" {
		t.Errorf("record 7 = %+v", r)
	}
	if p := mustQuery(t, j, Query{PartID: "A"}); !slices.Equal(ids(p), []uint64{12, 3}) {
		t.Errorf("part A %v, want [12 3]", ids(p))
	}
	c, err := j.Counters(time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Total: 3, Pass: 2, Fail: 1}); c.Counts != want {
		t.Errorf("counters %+v, want %+v", c.Counts, want)
	}
	// Old verdicts were delivered by the old appliance: nothing is queued.
	if j.OutboxLen() != 0 {
		t.Errorf("outbox %d after migration, want 0", j.OutboxLen())
	}
	write(t, j, verdict("cam0", 3, t0.Add(time.Hour), defects.Pass, "good", ""), nil)
	waitWritten(t, j, 1)
	if got := j.Stats().LastID; got != 13 {
		t.Errorf("first new id %d, want 13", got)
	}
	if r := mustGet(t, j, 7); r.OutboxDropped != "" || j.Stats().OutboxExpired != 0 {
		t.Errorf("migrated record 7 outbox_dropped %q, expired %d: it was never queued", r.OutboxDropped, j.Stats().OutboxExpired)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the database", db)
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketV0Verdicts) != nil {
			t.Error("the v0 bucket is still there")
		}
		if v := string(tx.Bucket(bucketMeta).Get(keyVersion)); v != strconv.Itoa(SchemaVersion) {
			t.Errorf("version %q, want %d", v, SchemaVersion)
		}
		// Only the record written after the migration was queued.
		if k, _ := tx.Bucket(bucketOutbox).Cursor().First(); k == nil || binary.BigEndian.Uint64(k) != 13 {
			t.Errorf("first outbox entry %x, want 13: migrated verdicts must not be queued", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, testOptions(dir))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, []byte(strconv.Itoa(SchemaVersion+1)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		o := testOptions(dir)
		o.ReadOnly = ro
		_, err := Open(o)
		if !isErr(err, ErrNewerSchema) || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d, this linesight reads up to %d", SchemaVersion+1, SchemaVersion)) {
			t.Errorf("read-only %v: %v", ro, err)
		}
	}
}

func TestRefusesAForeignFile(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(testOptions(dir)); err == nil || !strings.Contains(err.Error(), "not a journal") {
		t.Errorf("foreign bbolt file: %v", err)
	}
}
