package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// retainStep bounds how much one flush expires, so catching up after a
// long stop (or a lowered max_age) spreads over several transactions.
const retainStep = 5000

// retention is what one pass removed; files are deleted only after the
// transaction that dropped their references has committed.
type retention struct {
	files          []string
	expired        int // records older than max_age
	evictedPass    int // PASS images removed for the size cap
	evictedKept    int // FAIL/UNCERTAIN images removed for the size cap
	capUnreachable bool
}

// retain expires records older than cutoff (with their image) and minute
// aggregates older than minuteCutoff, then evicts images while the file
// (fileSize) and the images together exceed maxBytes: PASS images oldest first, then
// FAIL and UNCERTAIN ones oldest first.
func retain(tx *bolt.Tx, cutoff, minuteCutoff time.Time, maxBytes, fileSize int64) (retention, error) {
	var r retention
	if err := r.expire(tx, cutoff); err != nil {
		return r, err
	}
	if err := expireAggregates(tx, minuteCutoff); err != nil {
		return r, err
	}
	return r, r.evict(tx, maxBytes, fileSize)
}

func (r *retention) expire(tx *bolt.Tx, cutoff time.Time) error {
	if cutoff.IsZero() {
		return nil
	}
	end := nanos(cutoff)
	var keys [][]byte
	c := tx.Bucket(bucketByTime).Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < end && len(keys) < retainStep; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := r.deleteRecord(tx, k); err != nil {
			return err
		}
	}
	return nil
}

// deleteRecord removes one record and everything that refers to it except
// its outbox entry: a verdict not yet delivered is still owed to the line.
func (r *retention) deleteRecord(tx *bolt.Tx, timeKey []byte) error {
	id := binary.BigEndian.Uint64(timeKey[8:])
	key := u64(id)
	if err := tx.Bucket(bucketByTime).Delete(timeKey); err != nil {
		return fmt.Errorf("expire record %d: %w", id, err)
	}
	raw := tx.Bucket(bucketRecords).Get(key)
	if raw != nil {
		var rec Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("expire record %d: decode: %w", id, err)
		}
		at := time.Unix(0, int64(binary.BigEndian.Uint64(timeKey)))
		if rec.PartID != "" {
			if err := tx.Bucket(bucketByPart).Delete(append(partPrefix(rec.PartID), timeKey...)); err != nil {
				return fmt.Errorf("expire record %d: %w", id, err)
			}
		}
		if rec.Image != "" {
			images := tx.Bucket(bucketImages)
			for _, tier := range []bool{false, true} {
				ik := imageKey(tier, at, id)
				if v := images.Get(ik); v != nil {
					size, _ := decodeImageValue(v)
					if err := images.Delete(ik); err != nil {
						return fmt.Errorf("expire image of record %d: %w", id, err)
					}
					if err := addImageBytes(tx, -size); err != nil {
						return err
					}
				}
			}
			r.files = append(r.files, rec.Image)
		}
	}
	for _, b := range [][]byte{bucketRecords, bucketEmbeddings} {
		if err := tx.Bucket(b).Delete(key); err != nil {
			return fmt.Errorf("expire record %d: %w", id, err)
		}
	}
	r.expired++
	return nil
}

// expireAggregates drops minute aggregates before cutoff; hour aggregates
// are kept for good (a year of them is a few MB).
func expireAggregates(tx *bolt.Tx, cutoff time.Time) error {
	if cutoff.IsZero() {
		return nil
	}
	b := tx.Bucket(bucketAggMinute)
	end := uint64(max(cutoff.Unix(), 0))
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < end && len(keys) < retainStep; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("expire counters: %w", err)
		}
	}
	return nil
}

// evict removes images, clearing each record's reference in this same
// transaction, until the cap is met or no image is left.
func (r *retention) evict(tx *bolt.Tx, maxBytes, fileSize int64) error {
	if maxBytes <= 0 {
		return nil
	}
	// The file on disk may be larger than the pages in use; it is what
	// the disk holds.
	used := max(tx.Size(), fileSize) + imageBytes(tx)
	if used <= maxBytes {
		return nil
	}
	images := tx.Bucket(bucketImages)
	type victim struct {
		key  []byte
		size int64
		path string
	}
	var victims []victim
	c := images.Cursor()
	for k, v := c.First(); k != nil && used > maxBytes; k, v = c.Next() {
		size, path := decodeImageValue(v)
		victims = append(victims, victim{bytes.Clone(k), size, path})
		used -= size
	}
	r.capUnreachable = used > maxBytes
	var freed int64
	for _, v := range victims {
		id := binary.BigEndian.Uint64(v.key[9:])
		if err := images.Delete(v.key); err != nil {
			return fmt.Errorf("evict image of record %d: %w", id, err)
		}
		if err := updateRecord(tx, id, func(rec *Record) { rec.Image = "" }); err != nil {
			return fmt.Errorf("evict image of record %d: %w", id, err)
		}
		if v.key[0] == 0 {
			r.evictedPass++
		} else {
			r.evictedKept++
		}
		freed += v.size
		r.files = append(r.files, v.path)
	}
	return addImageBytes(tx, -freed)
}
