package journal

import (
	"context"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

func pendingIDs(t *testing.T, j *Journal, after uint64, limit int) []uint64 {
	t.Helper()
	es, err := j.Pending(after, limit)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func writeN(t *testing.T, j *Journal, from, n int) {
	t.Helper()
	before := j.Stats().Written
	for i := from; i < from+n; i++ {
		write(t, j, verdict("cam0", uint64(i), t0.Add(time.Duration(i)*time.Second), defects.Pass, "good", ""), nil)
	}
	waitWritten(t, j, before+uint64(n))
}

func TestOutboxOrderAckAndRestart(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, testOptions(dir))
	writeN(t, j, 1, 5)
	select {
	case <-j.OutboxNotify():
	default:
		t.Error("no notification after entries were added")
	}
	if got := pendingIDs(t, j, 0, 10); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
		t.Errorf("pending %v", got)
	}
	if got := pendingIDs(t, j, 2, 2); !slices.Equal(got, []uint64{3, 4}) {
		t.Errorf("pending after 2, limit 2: %v", got)
	}
	es, err := j.Pending(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Verdict.Seq != 1 || es[0].Verdict.Camera != "cam0" || es[0].QueuedAt.IsZero() {
		t.Errorf("entry 1: %+v", es[0])
	}

	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	for _, id := range []uint64{1, 3} {
		if err := j.Ack(id, at); err != nil {
			t.Fatal(err)
		}
	}
	// Acked entries leave Pending and the length at once, before they commit.
	if got := pendingIDs(t, j, 0, 10); !slices.Equal(got, []uint64{2, 4, 5}) || j.OutboxLen() != 3 {
		t.Errorf("after acking 1 and 3: pending %v, len %d", got, j.OutboxLen())
	}
	if err := j.Ack(3, at); err != nil || j.OutboxLen() != 3 {
		t.Errorf("acking twice: %v, len %d", err, j.OutboxLen())
	}
	if err := j.Ack(99, at); err != nil || j.OutboxLen() != 3 {
		t.Errorf("acking an unknown id: %v, len %d", err, j.OutboxLen())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, testOptions(dir))
	if got := pendingIDs(t, j, 0, 10); !slices.Equal(got, []uint64{2, 4, 5}) || j.OutboxLen() != 3 {
		t.Errorf("after restart: pending %v, len %d", got, j.OutboxLen())
	}
	r, err := j.Get(3)
	if err != nil {
		t.Fatal(err)
	}
	if !r.PublishedAt.Equal(at) {
		t.Errorf("record 3 published %v, want %v", r.PublishedAt, at)
	}
	if r := mustGet(t, j, 2); !r.PublishedAt.IsZero() {
		t.Errorf("record 2 (not acked) published %v", r.PublishedAt)
	}
	writeN(t, j, 6, 1)
	if got := pendingIDs(t, j, 5, 10); !slices.Equal(got, []uint64{6}) {
		t.Errorf("new entry after restart: %v, want [6]", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Ack(2, at); err == nil {
		t.Error("Ack after Close succeeded")
	}
}

func TestOutboxLimitPolicies(t *testing.T) {
	for _, c := range []struct {
		policy   string
		want     []uint64
		dropped  uint64
		refused  uint64
		finalLen int
	}{
		// Limit 3, seven records: drop_oldest keeps the newest three; refuse
		// keeps the first three and journals the rest without queueing them.
		{OutboxDropOldest, []uint64{5, 6, 7}, 4, 0, 3},
		{OutboxRefuse, []uint64{1, 2, 3}, 0, 4, 3},
	} {
		t.Run(c.policy, func(t *testing.T) {
			o := testOptions(t.TempDir())
			o.OutboxLimit, o.OutboxFull = 3, c.policy
			j := mustOpen(t, o)
			writeN(t, j, 1, 4) // one flush or several: the result is the same
			writeN(t, j, 5, 3)
			if got := pendingIDs(t, j, 0, 10); !slices.Equal(got, c.want) || j.OutboxLen() != c.finalLen {
				t.Errorf("pending %v len %d, want %v", got, j.OutboxLen(), c.want)
			}
			s := j.Stats()
			if s.OutboxDropped != c.dropped || s.OutboxRefused != c.refused {
				t.Errorf("dropped %d refused %d, want %d and %d", s.OutboxDropped, s.OutboxRefused, c.dropped, c.refused)
			}
			// Every record is journaled whatever the outbox did, and the
			// ones never to be published say why.
			if p := mustQuery(t, j, Query{}); len(p.Records) != 7 {
				t.Errorf("%d records journaled, want 7", len(p.Records))
			}
			for id := uint64(1); id <= 7; id++ {
				r, err := j.Get(id)
				if err != nil {
					t.Fatal(err)
				}
				want := ""
				if !slices.Contains(c.want, id) {
					want = map[string]string{OutboxDropOldest: DroppedFull, OutboxRefuse: DroppedRefused}[c.policy]
				}
				if r.OutboxDropped != want || r.OutboxDroppedAt.IsZero() != (want == "") {
					t.Errorf("record %d outbox_dropped %q at %v, want %q", id, r.OutboxDropped, r.OutboxDroppedAt, want)
				}
			}
			// Acking makes room again.
			if err := j.Ack(c.want[0], t0); err != nil {
				t.Fatal(err)
			}
			writeN(t, j, 8, 1)
			if got := pendingIDs(t, j, 0, 10); !slices.Equal(got, append(slices.Clone(c.want[1:]), 8)) {
				t.Errorf("after an ack and a new record: %v", got)
			}
		})
	}
}

// Sync commits what was written without waiting for the flush interval, so
// a stopping appliance can hand its last verdicts to the MQTT link at once.
func TestSyncCommitsWithoutWaitingForTheInterval(t *testing.T) {
	o := testOptions(t.TempDir())
	o.FlushInterval = time.Hour
	j := mustOpen(t, o)
	for i := range 3 {
		write(t, j, verdict("cam0", uint64(i+1), t0, defects.Fail, "scratch", ""), testFrame(8, 8, uint64(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, w := j.OutboxLen(), j.Stats().Written; n != 3 || w != 3 {
		t.Fatalf("after Sync: outbox %d, written %d; want 3 and 3", n, w)
	}
	select {
	case <-j.OutboxNotify():
	default:
		t.Error("Sync added outbox entries without a notification")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Sync(ctx); err == nil {
		t.Error("Sync on a closed journal succeeded")
	}
}

// Without an MQTT link nothing is queued: the record is journaled only, and
// no backlog builds up for a link that may be configured later.
func TestNoOutboxQueuesNothing(t *testing.T) {
	o := testOptions(t.TempDir())
	o.NoOutbox = true
	j := mustOpen(t, o)
	writeN(t, j, 1, 5)
	if n, es := j.OutboxLen(), pendingIDs(t, j, 0, 10); n != 0 || len(es) != 0 {
		t.Errorf("outbox %d, pending %v; want nothing queued", n, es)
	}
	if got := outboxKeys(t, j); got != 0 {
		t.Errorf("%d entries in the outbox bucket, want 0", got)
	}
	select {
	case <-j.OutboxNotify():
		t.Error("notified of outbox entries that were not to be queued")
	default:
	}
	if r := mustGet(t, j, 3); r.Seq != 3 || r.OutboxDropped != "" {
		t.Errorf("record 3 = %+v", r)
	}
}

// outboxKeys counts the outbox bucket's entries on disk.
func outboxKeys(t *testing.T, j *Journal) int {
	t.Helper()
	n := 0
	if err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, _ []byte) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A verdict older than the max age is never handed to the publisher, even
// before the writer purges it; the purge marks its record, counts it, and
// leaves newer entries in order.
func TestOutboxMaxAgeDropsStaleVerdicts(t *testing.T) {
	start := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: start}
	o := testOptions(t.TempDir())
	o.Now, o.OutboxMaxAge = clock.Now, time.Minute
	j := mustOpen(t, o)
	writeN(t, j, 1, 3) // queued at 13:00:00
	clock.Set(start.Add(50 * time.Second))
	writeN(t, j, 4, 2) // queued at 13:00:50
	clock.Set(start.Add(61 * time.Second))
	// Checked when read, not only when purged: 1-3 are a minute and a
	// second old, 4-5 eleven seconds.
	if got := pendingIDs(t, j, 0, 10); !slices.Equal(got, []uint64{4, 5}) {
		t.Errorf("pending at 13:01:01 %v, want [4 5]", got)
	}
	if got := pendingIDs(t, j, 0, 1); !slices.Equal(got, []uint64{4}) {
		t.Errorf("the first pending entry is %v, want [4]: a live verdict must not wait behind stale ones", got)
	}
	// A PUBACK for an entry handed out just before it expired is still
	// recorded as published: the purge waits a grace period.
	if err := j.Ack(1, clock.Now()); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the condition", func() bool { return !mustGet(t, j, 1).PublishedAt.IsZero() })
	clock.Set(start.Add(61*time.Second + purgeGrace))
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().OutboxExpired == 2 })
	if s := j.Stats(); !s.OutboxLastExpired.Equal(clock.Now()) || s.OutboxDropped != 0 {
		t.Errorf("stats %+v", s)
	}
	if n := j.OutboxLen(); n != 2 {
		t.Errorf("outbox %d after the purge, want 2", n)
	}
	for id := uint64(1); id <= 5; id++ {
		r, err := j.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		stale := id == 2 || id == 3
		if (r.OutboxDropped == DroppedExpired) != stale || stale && !r.OutboxDroppedAt.Equal(clock.Now()) {
			t.Errorf("record %d: outbox_dropped %q at %v", id, r.OutboxDropped, r.OutboxDroppedAt)
		}
	}
	// A late PUBACK for a purged entry changes nothing.
	if err := j.Ack(2, clock.Now()); err != nil || j.OutboxLen() != 2 {
		t.Errorf("ack of an expired entry: %v, outbox %d", err, j.OutboxLen())
	}
	// 4 and 5 expire in their turn.
	clock.Set(start.Add(111 * time.Second))
	if got := pendingIDs(t, j, 0, 10); len(got) != 0 {
		t.Errorf("pending at 13:01:51 %v, want none", got)
	}
	clock.Set(start.Add(111*time.Second + purgeGrace))
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().OutboxExpired == 4 })
	if n := j.OutboxLen(); n != 0 {
		t.Errorf("outbox %d, want 0", n)
	}
}

// An outbox left by an earlier run is not replayed: on the next start its
// stale entries are never pending, all go in one transaction (not one
// publish or flush each), and the first verdict written is the first one
// pending.
func TestOutboxLeftByAnEarlierRunIsPurgedInBulk(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: start}
	o := testOptions(dir)
	o.Now = clock.Now
	j := mustOpen(t, o)
	writeN(t, j, 1, 200)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Set(start.Add(time.Hour))
	j = mustOpen(t, o)
	if got := pendingIDs(t, j, 0, 1); len(got) != 0 {
		t.Errorf("an hour later, pending %v; want none", got)
	}
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().OutboxExpired == 200 })
	if s := j.Stats(); s.Flushes != 1 {
		t.Errorf("the purge took %d transactions, want 1", s.Flushes)
	}
	if n := outboxKeys(t, j); n != 0 {
		t.Errorf("%d entries left on disk, want 0", n)
	}
	writeN(t, j, 201, 1)
	if got := pendingIDs(t, j, 0, 10); !slices.Equal(got, []uint64{201}) {
		t.Errorf("pending %v, want the live verdict [201]", got)
	}
	if r := mustGet(t, j, 150); r.OutboxDropped != DroppedExpired {
		t.Errorf("record 150 outbox_dropped %q, want %q", r.OutboxDropped, DroppedExpired)
	}
}

// Verdicts handed on unjournaled (a full disk) obey the outbox's max age
// too: past it they are removed unpublished and counted as expired, so a
// broker back after a long outage never gets them.
func TestUnjournaledVerdictsExpire(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	u := unjournaled{limit: 10}
	for id, age := range map[uint64]time.Duration{1: 2 * time.Hour, 2: 90 * time.Second, 3: time.Second} {
		u.add(OutboxEntry{ID: id, Verdict: defects.Verdict{Seq: id}, QueuedAt: now.Add(-age)})
	}
	out, err := u.merge(nil, 0, 10, now.Add(-time.Minute), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ID != 3 || !out[0].NotJournaled {
		t.Fatalf("pending %+v, want only the live entry 3, not journaled", out)
	}
	if u.expired != 2 || !u.lastExpired.Equal(now) || u.len() != 1 {
		t.Errorf("expired %d at %v, %d left; want 2 at %v, 1 left", u.expired, u.lastExpired, u.len(), now)
	}
}
