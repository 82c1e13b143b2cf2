package journal

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/internal/testenv"
)

// A journal written before alarm events existed (no alarm_events bucket,
// the same schema version) reads as having none, read-only, and gets the
// bucket on the appliance's next open; a newer journal's extra bucket is
// what an older linesight ignores, so the version stays.
func TestAlarmEventsInAJournalFromBeforeThem(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, testOptions(dir))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketAlarmEvents) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if events, err := ro.AlarmEvents(time.Time{}, time.Time{}, 0); err != nil || len(events) != 0 {
		t.Errorf("read-only, no bucket: %v, %v", events, err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, testOptions(dir))
	defer testenv.Close(t, "the journal", j)
	if err := j.AddAlarmEvent(AlarmEvent{At: time.Now(), Event: AlarmRaised, ID: "disk_full", Kind: "disk_full"}); err != nil {
		t.Fatal(err)
	}
	if events, err := j.AlarmEvents(time.Time{}, time.Time{}, 0); err != nil {
		t.Fatal(err)
	} else if len(events) != 1 {
		t.Errorf("after the appliance's open: %d events, want 1", len(events))
	}
}
