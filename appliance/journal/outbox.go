package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
)

// OutboxEntry is a verdict waiting for the broker. ID is its record's id:
// strictly increasing, across restarts too.
type OutboxEntry struct {
	ID       uint64
	Verdict  defects.Verdict
	QueuedAt time.Time
	// NotJournaled marks a verdict the journal could not commit (a full
	// disk): it is held in memory only.
	NotJournaled bool
}

type outboxValue struct {
	Verdict  defects.Verdict `json:"verdict"`
	QueuedAt time.Time       `json:"queued_at"`
}

func encodeOutboxVerdict(v defects.Verdict) ([]byte, error) {
	b, err := json.Marshal(outboxValue{Verdict: v, QueuedAt: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("encode outbox entry: %w", err)
	}
	return b, nil
}

// Pending returns up to limit entries after `after` (ID order; 0 = from the
// start). Entries acked but not yet committed are left out.
func (j *Journal) Pending(after uint64, limit int) ([]OutboxEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	j.mu.Lock()
	acked := make(map[uint64]bool, len(j.acks)+len(j.applying))
	for id := range j.acks {
		acked[id] = true
	}
	for id := range j.applying {
		acked[id] = true
	}
	j.mu.Unlock()
	var out []OutboxEntry
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			id := binary.BigEndian.Uint64(k)
			if acked[id] {
				continue
			}
			var e outboxValue
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode outbox entry %d: %w", id, err)
			}
			out = append(out, OutboxEntry{ID: id, Verdict: e.Verdict, QueuedAt: e.QueuedAt})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return j.side.merge(out, after, limit)
}

// Ack removes an entry once the broker acknowledged it (PUBACK) and stamps
// the record's published time. It returns at once: the removal commits with
// the writer's next flush, and until then Pending leaves the entry out. A
// crash before that flush delivers the verdict again (at least once, as
// MQTT QoS 1 is). Acking an entry that is gone (acked before, or dropped)
// does nothing.
func (j *Journal) Ack(id uint64, at time.Time) error {
	if id == 0 {
		return errors.New("ack outbox entry: id 0 is never used")
	}
	if j.side.ack(id) {
		return nil
	}
	j.closeMu.RLock()
	defer j.closeMu.RUnlock()
	if j.closed || j.opts.ReadOnly {
		return fmt.Errorf("ack outbox entry %d: %w", id, errClosed)
	}
	var exists bool
	err := j.db.View(func(tx *bolt.Tx) error {
		exists = tx.Bucket(bucketOutbox).Get(u64(id)) != nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack outbox entry %d: %w", id, err)
	}
	if exists {
		j.mu.Lock()
		if _, applying := j.applying[id]; !applying {
			j.acks[id] = at
		}
		j.mu.Unlock()
	}
	return nil
}

// OutboxNotify is signalled (non-blocking, coalesced) whenever entries are
// added.
func (j *Journal) OutboxNotify() <-chan struct{} { return j.notify }

// OutboxLen is the number of entries not yet acked.
func (j *Journal) OutboxLen() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return max(j.outboxN-len(j.acks)-len(j.applying), 0) + j.side.len()
}
