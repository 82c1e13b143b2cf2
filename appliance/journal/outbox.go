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

// outboxTime is the part of an entry that expiry reads, so that skipping
// or purging stale entries does not decode their verdicts.
type outboxTime struct {
	QueuedAt time.Time `json:"queued_at"`
}

// expiredEntry says whether an encoded entry was queued before cutoff. An
// entry without a readable queue time (as schema migrations before this
// rule left) can never be published, so it counts as expired.
func expiredEntry(v []byte, cutoff time.Time) bool {
	var e outboxTime
	if err := json.Unmarshal(v, &e); err != nil {
		return true
	}
	return e.QueuedAt.Before(cutoff)
}

// outboxCutoff is the oldest queue time the outbox still publishes.
func (j *Journal) outboxCutoff(now time.Time) time.Time { return now.Add(-j.opts.OutboxMaxAge) }

// purgeGrace delays the purge of an expired entry past the cutoff Pending
// applies, so that an entry handed to the broker just before it expired
// gets its PUBACK recorded as published rather than being marked expired
// under it.
const purgeGrace = 5 * time.Second

// purgeCutoff is the oldest queue time the writer keeps in the outbox.
func (j *Journal) purgeCutoff(now time.Time) time.Time {
	return j.outboxCutoff(now).Add(-purgeGrace)
}

// Pending returns up to limit entries after `after` (ID order; 0 = from the
// start). Entries acked but not yet committed are left out, and so are
// entries older than the outbox's max age: they are never published, and
// the writer purges them in bulk, so a live verdict never waits behind them.
func (j *Journal) Pending(after uint64, limit int) ([]OutboxEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := j.opts.Now()
	cutoff := j.outboxCutoff(now)
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
			if expiredEntry(v, cutoff) {
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
	return j.side.merge(out, after, limit, cutoff, now)
}

// outboxHeadExpired says whether the oldest entry is past the max age, so
// that the writer purges even when no record or ack arrives. Entries are
// queued in id order, so the oldest id is the oldest entry.
func (j *Journal) outboxHeadExpired(outboxN int, cutoff time.Time) bool {
	if outboxN == 0 {
		return false
	}
	var stale bool
	_ = j.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketOutbox).Cursor().First()
		stale = k != nil && expiredEntry(v, cutoff)
		return nil
	})
	return stale
}

// logExpired logs purged entries at most once a minute, with the count
// since the last line, so a long outage does not log every flush.
func (j *Journal) logExpired(now time.Time, n int) {
	j.expiredUnlogged += n
	if j.expiredUnlogged == 0 || now.Sub(j.expiredLoggedAt) < time.Minute {
		return
	}
	j.log.Warn("outbox: verdicts older than the max age dropped, never published",
		"verdicts", j.expiredUnlogged, "max_age", j.opts.OutboxMaxAge)
	j.expiredUnlogged, j.expiredLoggedAt = 0, now
}

// Ack removes an entry once the broker acknowledged it (PUBACK) and stamps
// the record's published time. It returns at once: the removal commits with
// the writer's next flush, and until then Pending leaves the entry out. A
// crash before that flush delivers the verdict again (at least once, as
// MQTT QoS 1 is). Acking an entry that is gone (acked before, dropped or
// expired) does nothing.
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

// OutboxLen is the number of entries not yet acked (expired entries count
// until the writer purges them, within a flush interval).
func (j *Journal) OutboxLen() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return max(j.outboxN-len(j.acks)-len(j.applying), 0) + j.side.len()
}
