package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
)

// SchemaVersion is the layout this package writes. Version 0 is the
// pre-release layout: a single "verdicts" bucket of JSON verdicts keyed by
// id, with no indexes, aggregates, embeddings or outbox. Version 2 adds the
// anomaly_maps bucket. Buckets that only add (alarm_events) keep the
// version: every open creates the buckets it lacks, and a linesight that
// does not know one ignores it, so a box rolled back to its previous
// firmware still opens the journal the new one wrote.
const SchemaVersion = 2

// Buckets of schema version 1. Every key that holds an id or a time is
// big-endian, so bbolt's byte order is numeric order.
var (
	bucketMeta       = []byte("meta")       // "version" -> decimal, "image_bytes" -> u64
	bucketRecords    = []byte("records")    // id -> Record JSON (no embedding); sequence = last id
	bucketEmbeddings = []byte("embeddings") // id -> float32 little-endian
	bucketByTime     = []byte("by_time")    // captured ns + id -> summary
	bucketByPart     = []byte("by_part")    // part_id 0x00 captured ns + id -> summary
	bucketImages     = []byte("images")     // tier + captured ns + id -> size u64 + relative path
	bucketOutbox     = []byte("outbox")     // id -> outbox JSON
	bucketAggMinute  = []byte("agg_minute") // unix minute start s + camera 0x00 class -> counts
	bucketAggHour    = []byte("agg_hour")   // unix hour start s + camera 0x00 class -> counts
	// Since version 2: id -> anomaly_map JSON, for records with one.
	bucketAnomalyMaps = []byte("anomaly_maps")
	// Added within version 2: at ns + sequence -> AlarmEvent JSON.
	bucketAlarmEvents = []byte("alarm_events")

	bucketV0Verdicts = []byte("verdicts")

	keyVersion    = []byte("version")
	keyImageBytes = []byte("image_bytes")
)

var v1Buckets = [][]byte{bucketMeta, bucketRecords, bucketEmbeddings, bucketByTime, bucketByPart,
	bucketImages, bucketOutbox, bucketAggMinute, bucketAggHour, bucketAnomalyMaps, bucketAlarmEvents}

// ErrNewerSchema is returned for a journal written by a newer linesight.
var ErrNewerSchema = errors.New("journal written by a newer linesight")

// schemaVersion reads the version of an open file: -1 for an empty file.
func schemaVersion(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if tx.Bucket(bucketV0Verdicts) != nil {
			return 0, nil
		}
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if empty {
			return -1, nil
		}
		return 0, errors.New("not a journal: it has buckets but neither meta nor verdicts")
	}
	v, err := strconv.Atoi(string(meta.Get(keyVersion)))
	if err != nil {
		return 0, fmt.Errorf("meta version %q is not a number", meta.Get(keyVersion))
	}
	return v, nil
}

// checkVersion refuses what this build cannot read, naming both versions.
func checkVersion(path string, v int) error {
	if v > SchemaVersion {
		return fmt.Errorf("%s has schema version %d, this linesight reads up to %d: upgrade linesight, or move the file aside to start a new journal: %w",
			path, v, SchemaVersion, ErrNewerSchema)
	}
	return nil
}

// prepareSchema creates an empty journal or migrates an older one, in tx.
func prepareSchema(tx *bolt.Tx, path string) (migrated bool, err error) {
	v, err := schemaVersion(tx)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkVersion(path, v); err != nil {
		return false, err
	}
	for _, b := range v1Buckets {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return false, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	switch v {
	case SchemaVersion:
		return false, nil
	case 0:
		if err := migrateV0(tx); err != nil {
			return false, fmt.Errorf("migrate %s from schema 0: %w", path, err)
		}
		migrated = true
	case 1:
		// Version 2 only adds the anomaly_maps bucket, made above: the
		// records of version 1 have no maps.
		migrated = true
	}
	return migrated, tx.Bucket(bucketMeta).Put(keyVersion, []byte(strconv.Itoa(SchemaVersion)))
}

// migrateV0 rebuilds each v0 verdict as a v1 record with its indexes and
// aggregates, keeping ids, then drops the old bucket. It runs in one
// transaction, so a crash leaves the v0 file untouched.
func migrateV0(tx *bolt.Tx) error {
	old := tx.Bucket(bucketV0Verdicts)
	if old == nil {
		return nil
	}
	var batch []*pending
	var last uint64
	err := old.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("key %x is not an 8-byte id", k)
		}
		var verdict defects.Verdict
		if err := json.Unmarshal(v, &verdict); err != nil {
			return fmt.Errorf("verdict %d: %w", binary.BigEndian.Uint64(k), err)
		}
		id := binary.BigEndian.Uint64(k)
		p, err := newPending(id, verdict, "", 0)
		if err != nil {
			return err
		}
		// The old appliance delivered these: nothing is queued.
		p.noOutbox = true
		batch = append(batch, p)
		last = max(last, id)
		return nil
	})
	if err != nil {
		return err
	}
	w := txWriter{tx: tx, outboxLimit: 0}
	if err := w.putRecords(batch); err != nil {
		return err
	}
	if err := tx.Bucket(bucketRecords).SetSequence(last); err != nil {
		return err
	}
	return tx.DeleteBucket(bucketV0Verdicts)
}
