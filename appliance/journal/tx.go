package journal

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// txWriter applies one flush to one read-write transaction. Its counters
// say what the transaction did; they count only once it commits.
type txWriter struct {
	tx          *bolt.Tx
	outboxLimit int // 0: no limit
	outboxFull  string
	outboxN     int       // entries in the outbox, kept here so no step counts the bucket
	now         time.Time // the flush's time, stamped on records whose entry is dropped

	outboxAdded int
	dropped     int
	refused     int
	expired     int
}

// putRecords stores each record with its indexes, embedding, image entry,
// aggregate counts and outbox entry.
func (w *txWriter) putRecords(batch []*pending) error {
	tx := w.tx
	records, embeddings := tx.Bucket(bucketRecords), tx.Bucket(bucketEmbeddings)
	byTime, byPart, images := tx.Bucket(bucketByTime), tx.Bucket(bucketByPart), tx.Bucket(bucketImages)
	agg := aggBatch{}
	var imageBytes int64
	for _, p := range batch {
		key := u64(p.id)
		if err := records.Put(key, p.record); err != nil {
			return fmt.Errorf("put record %d: %w", p.id, err)
		}
		if p.embedding != nil {
			if err := embeddings.Put(key, p.embedding); err != nil {
				return fmt.Errorf("put embedding %d: %w", p.id, err)
			}
		}
		if p.anomalyMap != nil {
			if err := tx.Bucket(bucketAnomalyMaps).Put(key, p.anomalyMap); err != nil {
				return fmt.Errorf("put anomaly map %d: %w", p.id, err)
			}
		}
		sum := summary{p.outcome, p.camera, p.class}.encode()
		if err := byTime.Put(timeKey(nil, p.at, p.id), sum); err != nil {
			return fmt.Errorf("index record %d: %w", p.id, err)
		}
		if p.partID != "" {
			if err := byPart.Put(timeKey(partPrefix(p.partID), p.at, p.id), sum); err != nil {
				return fmt.Errorf("index record %d: %w", p.id, err)
			}
		}
		if p.image != "" {
			if err := images.Put(imageKey(p.keepTier, p.at, p.id), imageValue(p.imageSize, p.image)); err != nil {
				return fmt.Errorf("index image of record %d: %w", p.id, err)
			}
			imageBytes += p.imageSize
		}
		agg.add(p.at, p.camera, p.class, p.outcome)
		if !p.noOutbox {
			if err := w.enqueue(p); err != nil {
				return err
			}
		}
	}
	if err := addImageBytes(tx, imageBytes); err != nil {
		return err
	}
	return agg.apply(tx)
}

// enqueue adds a record's outbox entry under the configured limit.
func (w *txWriter) enqueue(p *pending) error {
	out := w.tx.Bucket(bucketOutbox)
	if w.outboxLimit > 0 && w.outboxN >= w.outboxLimit {
		if w.outboxFull == OutboxRefuse {
			w.refused++
			return w.markDropped(p.id, DroppedRefused)
		}
		// drop_oldest: bbolt keeps keys in id order, so the first is the oldest.
		k, _ := out.Cursor().First()
		if k != nil {
			if err := out.Delete(k); err != nil {
				return fmt.Errorf("drop oldest outbox entry: %w", err)
			}
			w.dropped++
			w.outboxN--
			if err := w.markDropped(binary.BigEndian.Uint64(k), DroppedFull); err != nil {
				return err
			}
		}
	}
	if err := out.Put(u64(p.id), p.verdict); err != nil {
		return fmt.Errorf("queue record %d for MQTT: %w", p.id, err)
	}
	w.outboxAdded++
	w.outboxN++
	return nil
}

// expireOutbox removes up to limit entries queued before cutoff, oldest
// first, and marks their records: they are never published. Entries are
// queued in id order, so it stops at the first entry still in time; one
// out of order (a clock set back) waits for those before it, and Pending
// skips it meanwhile.
func (w *txWriter) expireOutbox(cutoff time.Time, limit int) error {
	out := w.tx.Bucket(bucketOutbox)
	var stale []uint64
	c := out.Cursor()
	for k, v := c.First(); k != nil && len(stale) < limit; k, v = c.Next() {
		if !expiredEntry(v, cutoff) {
			break
		}
		stale = append(stale, binary.BigEndian.Uint64(k))
	}
	for _, id := range stale {
		if err := out.Delete(u64(id)); err != nil {
			return fmt.Errorf("expire outbox entry %d: %w", id, err)
		}
		w.outboxN--
		w.expired++
		if err := w.markDropped(id, DroppedExpired); err != nil {
			return err
		}
	}
	return nil
}

// markDropped records on a verdict's record why it was never published.
func (w *txWriter) markDropped(id uint64, reason string) error {
	return updateRecord(w.tx, id, func(r *Record) { r.OutboxDropped, r.OutboxDroppedAt = reason, w.now })
}

// ack removes an acknowledged entry and stamps its record's publish time.
// An entry that is gone (acked before, or dropped) is not an error.
func (w *txWriter) ack(id uint64, at time.Time) error {
	key := u64(id)
	out := w.tx.Bucket(bucketOutbox)
	if out.Get(key) == nil {
		return nil
	}
	if err := out.Delete(key); err != nil {
		return fmt.Errorf("ack outbox entry %d: %w", id, err)
	}
	w.outboxN--
	return updateRecord(w.tx, id, func(r *Record) { r.PublishedAt = at })
}

// updateRecord rewrites a stored record; a record that has expired is
// skipped.
func updateRecord(tx *bolt.Tx, id uint64, change func(*Record)) error {
	records := tx.Bucket(bucketRecords)
	raw := records.Get(u64(id))
	if raw == nil {
		return nil
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("decode record %d: %w", id, err)
	}
	change(&r)
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record %d: %w", id, err)
	}
	return records.Put(u64(id), b)
}

func imageKey(keepTier bool, at time.Time, id uint64) []byte {
	tier := []byte{0}
	if keepTier {
		tier[0] = 1
	}
	return timeKey(tier, at, id)
}

func imageValue(size int64, path string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(size)), path...)
}

func decodeImageValue(v []byte) (int64, string) {
	if len(v) < 8 {
		return 0, ""
	}
	return int64(binary.BigEndian.Uint64(v)), string(v[8:])
}

func imageBytes(tx *bolt.Tx) int64 {
	v := tx.Bucket(bucketMeta).Get(keyImageBytes)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func addImageBytes(tx *bolt.Tx, delta int64) error {
	if delta == 0 {
		return nil
	}
	n := max(imageBytes(tx)+delta, 0)
	return tx.Bucket(bucketMeta).Put(keyImageBytes, u64(uint64(n)))
}
