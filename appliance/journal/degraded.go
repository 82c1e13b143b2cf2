package journal

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A full disk must slow the journal down, not stop the line: the writer
// keeps the disk's reserve free (room), and when commits fail all the
// same it holds a bounded batch, retries in small chunks and hands the
// verdicts to the MQTT link directly (unjournaled), saying so once in the
// log and in Degraded.

// Bounds of the disk reserve's default (5% of the file system).
const (
	minReserve = 1 << 20
	maxReserve = 256 << 20
)

// diskSpace is the free space (for an unprivileged writer) and the size
// of the file system holding dir.
func diskSpace(dir string) (free, total int64, err error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(fs.Bavail) * int64(fs.Bsize), int64(fs.Blocks) * int64(fs.Bsize), nil
}

// diskReserve resolves Options.DiskReserve against the file system, and
// says once when journal.max_mb cannot be met on it.
func (j *Journal) diskReserve() int64 {
	if j.opts.DiskReserve < 0 {
		return 0
	}
	_, total, err := diskSpace(j.opts.Dir)
	if err != nil {
		j.log.Warn("the data directory's free space cannot be read; no disk reserve is kept", "err", err)
		return 0
	}
	r := j.opts.DiskReserve
	if r == 0 {
		r = min(max(total/20, minReserve), maxReserve)
	}
	if j.opts.MaxBytes > total-r {
		j.log.Warn("journal.max_mb is more than the data directory's file system holds; the journal is bounded by the disk instead, keeping its reserve free",
			"max_mb", j.opts.MaxBytes>>20, "file_system_mb", total>>20, "reserve_mb", float64(r)/(1<<20))
	}
	return r
}

// room measures what retention must free before the next commit: nothing
// while the disk has its reserve; else the shortfall and, while commits
// fail, as many old records as wait (held) to be committed.
func (j *Journal) room(held int) limits {
	var l limits
	if st, err := os.Stat(j.path); err == nil {
		l.fileSize = st.Size()
	}
	if j.reserve <= 0 && !j.failing {
		return l
	}
	free, _, err := diskSpace(j.opts.Dir)
	if err != nil {
		return l
	}
	j.noteShort(free)
	l.diskDeficit = max(j.reserve-free, 0)
	var used int64
	j.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	grew := max(used-j.lastUsed, 0)
	j.lastUsed = used
	if l.diskDeficit > 0 {
		// The file must stop growing into the reserve: free in it twice
		// what it grew since the last flush.
		l.fileRoom = 2 * grew
	}
	// Room made for records that did not commit yet is not made again, so
	// a disk that stays full costs at most a chunk of old records.
	if j.failing {
		l.ringRecords = max(min(held, j.chunk)-j.ringCredit, 0)
	}
	return l
}

// noteShort logs when the disk falls below its reserve and when it has
// twice the reserve again: one line per change, not one per flush.
func (j *Journal) noteShort(free int64) {
	switch {
	case !j.short && free < j.reserve:
		j.short = true
		j.log.Warn("data disk below its reserve: the journal evicts PASS images, then its oldest records, to keep room for new ones",
			"free_mb", float64(free)/(1<<20), "reserve_mb", float64(j.reserve)/(1<<20))
	case j.short && free >= 2*j.reserve:
		j.short = false
		j.log.Info("data disk above its reserve again", "free_mb", float64(free)/(1<<20))
	}
}

// commitFailed enters (or stays in) the failing state: the batch's
// verdicts go to the link now, and it is kept for the next try.
func (j *Journal) commitFailed(batch []*pending, err error) []*pending {
	j.failedFlushes++
	j.setHeld(len(batch))
	if j.failing {
		return batch
	}
	j.failing, j.failingSince = true, j.opts.Now()
	for _, p := range batch {
		j.bypass(p)
	}
	if j.opts.NoOutbox {
		// No MQTT link: nothing is published, so say only what is true.
		j.setDegraded(fmt.Sprintf("journal cannot commit (%v): records wait in memory, the oldest beyond %d are lost", err, j.opts.MaxPending))
		j.log.Error("journal cannot commit; records wait in memory until commits resume",
			"held", len(batch), "max_pending", j.opts.MaxPending, "err", err)
		return batch
	}
	j.setDegraded(fmt.Sprintf("journal cannot commit (%v): verdicts are published without being journaled", err))
	j.log.Error("journal cannot commit; verdicts go to the MQTT link unjournaled and records wait in memory until commits resume",
		"held", len(batch), "max_pending", j.opts.MaxPending, "err", err)
	return batch
}

// commitsResumed leaves the failing state once a flush committed all and
// the disk has its reserve again; until then verdicts keep going to the
// link directly, so the state does not flap while the journal turns over
// on a full disk.
func (j *Journal) commitsResumed() {
	if !j.failing {
		return
	}
	if free, _, err := diskSpace(j.opts.Dir); err == nil && free < j.reserve {
		return
	}
	st := j.Stats()
	j.log.Info("journal commits again", "failed_flushes", j.failedFlushes,
		"for", j.opts.Now().Sub(j.failingSince).Round(time.Millisecond),
		"unjournaled", st.Unjournaled, "not_journaled", st.NotJournaled)
	j.failing, j.failedFlushes, j.ringCredit = false, 0, 0
	j.setDegraded("")
}

func (j *Journal) setDegraded(reason string) {
	j.stateMu.Lock()
	j.degradedReason = reason
	j.stateMu.Unlock()
}

// Degraded says why the journal is not keeping its promise, a verdict on
// disk before it is published; "" while it is.
func (j *Journal) Degraded() string {
	j.stateMu.Lock()
	defer j.stateMu.Unlock()
	return j.degradedReason
}

// unjournaled holds, in memory and in id order, the verdicts the journal
// could not commit, until the link publishes them.
type unjournaled struct {
	mu      sync.Mutex
	limit   int
	entries []OutboxEntry
	added   uint64
	dropped uint64
	// expired counts entries removed past the outbox's max age, the last
	// at lastExpired.
	expired     uint64
	lastExpired time.Time
}

func (u *unjournaled) add(e OutboxEntry) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e.NotJournaled = true
	i, _ := slices.BinarySearchFunc(u.entries, e.ID, func(e OutboxEntry, id uint64) int { return cmp.Compare(e.ID, id) })
	u.entries = slices.Insert(u.entries, i, e)
	u.added++
	if over := len(u.entries) - u.limit; over > 0 {
		u.entries = slices.Delete(u.entries, 0, over)
		u.dropped += uint64(over)
	}
}

// merge adds the entries after `after` to out (outbox entries in id
// order) and keeps the first limit of them all. Entries queued before
// cutoff are past the outbox's max age: they are removed unpublished and
// counted as expired, as the journal's outbox does with its own.
func (u *unjournaled) merge(out []OutboxEntry, after uint64, limit int, cutoff, now time.Time) ([]OutboxEntry, error) {
	u.mu.Lock()
	i, _ := slices.BinarySearchFunc(u.entries, after+1, func(e OutboxEntry, id uint64) int { return cmp.Compare(e.ID, id) })
	side := slices.Clone(u.entries[i:min(len(u.entries), i+limit)])
	u.mu.Unlock()
	if len(side) == 0 {
		return out, nil
	}
	var stale []uint64
	for _, e := range side {
		if e.QueuedAt.Before(cutoff) {
			stale = append(stale, e.ID)
			continue
		}
		out = append(out, e)
	}
	if len(stale) > 0 {
		u.mu.Lock()
		for _, id := range stale {
			if u.removeLocked(id) {
				u.expired++
				u.lastExpired = now
			}
		}
		u.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b OutboxEntry) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(len(out), limit)], nil
}

// ack removes an entry; it reports whether it held it.
func (u *unjournaled) ack(id uint64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.removeLocked(id)
}

func (u *unjournaled) removeLocked(id uint64) bool {
	i, ok := slices.BinarySearchFunc(u.entries, id, func(e OutboxEntry, id uint64) int { return cmp.Compare(e.ID, id) })
	if ok {
		u.entries = slices.Delete(u.entries, i, i+1)
	}
	return ok
}

func (u *unjournaled) len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.entries)
}
