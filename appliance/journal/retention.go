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
	evictedPass    int // PASS images removed for the size cap or disk space
	evictedKept    int // FAIL/UNCERTAIN images removed for the size cap
	evictedRecords int // oldest records removed for disk space
	capUnreachable bool
}

// limits are what one retention pass keeps the journal within.
type limits struct {
	cutoff       time.Time // records captured before it expire (zero: never)
	minuteCutoff time.Time // minute aggregates before it expire
	maxBytes     int64     // the size cap on the file and images (0: none)
	fileSize     int64     // the file's size on disk
	// diskDeficit is how far the file system's free space is below the
	// reserve (0: not); ringRecords how many of the oldest records to
	// remove so that as many new ones fit in the file (commits failed).
	diskDeficit int64
	ringRecords int
	// fileRoom is how much more of the file should be free for commits to
	// reuse, once no image is left to free the disk with.
	fileRoom int64
}

// retain expires records older than cutoff (with their image) and minute
// aggregates older than minuteCutoff, makes room on a short disk, then
// evicts images while the file (fileSize) and the images together exceed
// maxBytes: PASS images oldest first, then FAIL and UNCERTAIN ones oldest
// first.
func retain(tx *bolt.Tx, l limits) (retention, error) {
	var r retention
	if err := r.expire(tx, l.cutoff); err != nil {
		return r, err
	}
	if err := expireAggregates(tx, l.minuteCutoff); err != nil {
		return r, err
	}
	if err := r.makeRoom(tx, l.diskDeficit, l.fileRoom, l.ringRecords); err != nil {
		return r, err
	}
	return r, r.evict(tx, l.maxBytes, l.fileSize)
}

// makeRoom keeps a commit possible on a disk short of its reserve: it
// evicts images, PASS oldest first, then FAIL and UNCERTAIN oldest first
// (as the size cap does), until diskDeficit bytes are freed. With no image
// left to free, the file itself has outgrown the disk: the oldest records
// go until about fileRoom bytes of the file are free for the next commits
// to reuse (at most fileRoomStep records a pass), so the journal turns
// over within the space it has. When commits fail, ringRecords of the
// oldest go too, so that those waiting fit in the file.
func (r *retention) makeRoom(tx *bolt.Tx, diskDeficit, fileRoom int64, ringRecords int) error {
	if diskDeficit <= 0 && ringRecords <= 0 {
		return nil
	}
	freed, err := r.evictImages(tx, func(freed int64) bool { return freed >= diskDeficit })
	if err != nil {
		return err
	}
	if err := addImageBytes(tx, -freed); err != nil {
		return err
	}
	if freed >= diskDeficit {
		fileRoom = 0 // the file may grow into what the images freed
	}
	byTime := tx.Bucket(bucketByTime)
	for n := 0; ringRecords > 0 || fileRoom > 0 && n < fileRoomStep; n++ {
		// A fresh cursor each time: deleting under a cursor moves it.
		k, _ := byTime.Cursor().First()
		if k == nil {
			break
		}
		size, err := r.deleteRecord(tx, bytes.Clone(k))
		if err != nil {
			return err
		}
		ringRecords--
		fileRoom -= size
		r.evictedRecords++
	}
	return nil
}

// fileRoomStep bounds the records one pass removes to make room in the
// file.
const fileRoomStep = 256

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
		if _, err := r.deleteRecord(tx, k); err != nil {
			return err
		}
		r.expired++
	}
	return nil
}

// deleteRecord removes one record and everything that refers to it except
// its outbox entry: a verdict not yet delivered is still owed to the line.
// It returns about how many bytes of the file the record held.
func (r *retention) deleteRecord(tx *bolt.Tx, timeKey []byte) (int64, error) {
	id := binary.BigEndian.Uint64(timeKey[8:])
	key := u64(id)
	if err := tx.Bucket(bucketByTime).Delete(timeKey); err != nil {
		return 0, fmt.Errorf("remove record %d: %w", id, err)
	}
	raw := tx.Bucket(bucketRecords).Get(key)
	// About what the record held in the file: its value, embedding and
	// index entries.
	size := int64(len(raw)+len(tx.Bucket(bucketEmbeddings).Get(key))+len(tx.Bucket(bucketAnomalyMaps).Get(key))) + 128
	if raw != nil {
		var rec Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return 0, fmt.Errorf("remove record %d: decode: %w", id, err)
		}
		at := time.Unix(0, int64(binary.BigEndian.Uint64(timeKey)))
		if rec.PartID != "" {
			if err := tx.Bucket(bucketByPart).Delete(append(partPrefix(rec.PartID), timeKey...)); err != nil {
				return 0, fmt.Errorf("remove record %d: %w", id, err)
			}
		}
		if rec.Image != "" {
			images := tx.Bucket(bucketImages)
			for _, tier := range []bool{false, true} {
				ik := imageKey(tier, at, id)
				if v := images.Get(ik); v != nil {
					size, _ := decodeImageValue(v)
					if err := images.Delete(ik); err != nil {
						return 0, fmt.Errorf("remove image of record %d: %w", id, err)
					}
					if err := addImageBytes(tx, -size); err != nil {
						return 0, err
					}
				}
			}
			r.files = append(r.files, rec.Image)
		}
	}
	for _, b := range [][]byte{bucketRecords, bucketEmbeddings, bucketAnomalyMaps} {
		if err := tx.Bucket(b).Delete(key); err != nil {
			return 0, fmt.Errorf("remove record %d: %w", id, err)
		}
	}
	return size, nil
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
	freed, err := r.evictImages(tx, func(freed int64) bool { return used-freed <= maxBytes })
	if err != nil {
		return err
	}
	r.capUnreachable = used-freed > maxBytes
	return addImageBytes(tx, -freed)
}

// evictImages removes images in key order (PASS oldest first, then FAIL and
// UNCERTAIN oldest first) until enough says what they freed is enough or no
// image is left, clearing each record's reference in this same
// transaction. The caller accounts the freed bytes.
func (r *retention) evictImages(tx *bolt.Tx, enough func(freed int64) bool) (int64, error) {
	images := tx.Bucket(bucketImages)
	type victim struct {
		key  []byte
		size int64
		path string
	}
	// Collected first: deleting under a cursor moves it.
	var victims []victim
	var freed int64
	c := images.Cursor()
	for k, v := c.First(); k != nil && !enough(freed); k, v = c.Next() {
		size, path := decodeImageValue(v)
		victims = append(victims, victim{bytes.Clone(k), size, path})
		freed += size
	}
	for _, v := range victims {
		id := binary.BigEndian.Uint64(v.key[9:])
		if err := images.Delete(v.key); err != nil {
			return 0, fmt.Errorf("evict image of record %d: %w", id, err)
		}
		if err := updateRecord(tx, id, func(rec *Record) { rec.Image = "" }); err != nil {
			return 0, fmt.Errorf("evict image of record %d: %w", id, err)
		}
		if v.key[0] == 0 {
			r.evictedPass++
		} else {
			r.evictedKept++
		}
		r.files = append(r.files, v.path)
	}
	return freed, nil
}
