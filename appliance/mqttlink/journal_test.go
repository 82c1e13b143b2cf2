package mqttlink

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/journal/tmpfs"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// journalOutbox adapts the real journal to the link, as the app does.
type journalOutbox struct{ *journal.Journal }

func (o journalOutbox) Pending(after uint64, limit int) ([]Entry, error) {
	es, err := o.Journal.Pending(after, limit)
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry{ID: e.ID, Verdict: e.Verdict, QueuedAt: e.QueuedAt, NotJournaled: e.NotJournaled}
	}
	return out, err
}

func openJournal(t testing.TB, dir string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(journal.Options{Dir: dir, FlushInterval: 5 * time.Millisecond, Log: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// The whole path on disk: verdicts journaled while the broker is down, the
// appliance restarted (journal closed and reopened, a new link), the broker
// back: every verdict arrives once, in order.
func TestJournalOutboxSurvivesBrokerOutageAndRestart(t *testing.T) {
	b := startBroker(t, nil)
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/+/verdict", nil)
	dir := t.TempDir()
	ctx := context.Background()

	j := openJournal(t, dir)
	l, stop := runLink(t, testOptions(b.URL()), journalOutbox{j}, newFakeApp())
	awaitConnected(t, l)
	write := func(j *journal.Journal, from, to int) {
		for i := from; i <= to; i++ {
			out := []defects.Outcome{defects.Pass, defects.Fail, defects.Missed}[i%3]
			if err := j.Write(ctx, &inspect.Result{Verdict: verdict("cam0", uint64(i), out)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(j, 1, 40)
	sub.await("first verdicts", "/verdict", func(m []received) bool { return len(m) >= 40 })
	b.Stop(syscall.SIGTERM)
	write(j, 41, 80)
	stop()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = openJournal(t, dir)
	defer testenv.Close(t, "the reopened journal", j)
	if j.OutboxLen() < 40 {
		t.Fatalf("reopened outbox holds %d; want the 40 written during the outage", j.OutboxLen())
	}
	b.Start()
	_, stop = runLink(t, testOptions(b.URL()), journalOutbox{j}, newFakeApp())
	write(j, 81, 100)
	msgs := sub.await("all 100", "/verdict", func(m []received) bool { return distinct(verdictIDs(t, m)) >= 100 })
	checkInOrder(t, verdictIDs(t, msgs), 100)
	if n := republished(t, msgs); n != 0 {
		t.Errorf("%d verdicts published twice", n)
	}
	stop()
}

// shiftedClock is the wall clock moved by a settable offset: the journal
// stamps entries with it, so a test can queue verdicts "an hour ago"
// without waiting.
type shiftedClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *shiftedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}
func (c *shiftedClock) Set(d time.Duration) {
	c.mu.Lock()
	c.offset = d
	c.mu.Unlock()
}

// An outbox backlog older than the max age, as an outage or an earlier run
// leaves it, is never published: on a real broker the PLC receives only
// the live verdicts, first and in order, and the stale ones are counted
// and marked on their records.
func TestStaleOutboxIsNeverPublished(t *testing.T) {
	b := startBroker(t, nil)
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/+/verdict", nil)
	clock := &shiftedClock{offset: -time.Hour}
	j, err := journal.Open(journal.Options{Dir: t.TempDir(), FlushInterval: 5 * time.Millisecond,
		OutboxMaxAge: time.Minute, Now: clock.Now, Log: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	ctx := context.Background()
	write := func(from, to int) {
		for i := from; i <= to; i++ {
			if err := j.Write(ctx, &inspect.Result{Verdict: verdict("cam0", uint64(i), defects.Pass)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(1, 300) // queued an hour ago
	if err := j.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if j.OutboxLen() != 300 {
		t.Fatalf("outbox %d, want the 300 stale verdicts", j.OutboxLen())
	}

	clock.Set(0)
	_, stop := runLink(t, testOptions(b.URL()), journalOutbox{j}, newFakeApp())
	write(301, 305)
	msgs := sub.await("the live verdicts", "/verdict", func(m []received) bool { return distinct(verdictIDs(t, m)) >= 5 })
	stop()
	if got := verdictIDs(t, sub.on("/verdict")); !slices.Equal(got, []uint64{301, 302, 303, 304, 305}) {
		t.Errorf("published ids %v, want only the live 301-305, in order", got)
	}
	var first VerdictMessage
	if err := json.Unmarshal(msgs[0].payload, &first); err != nil || first.Seq != 301 || first.PartID != "P301" {
		t.Errorf("first verdict %+v (%v), want seq 301", first, err)
	}
	// The purge commits with the live records, and the journal counts it
	// just after the commit: the link can publish those records in between.
	testenv.WaitFor(t, "the 300 stale verdicts counted as expired and none left", func() bool {
		return j.Stats().OutboxExpired == 300 && j.OutboxLen() == 0
	})
	if r, err := j.Get(1); err != nil {
		t.Fatal(err)
	} else if r.OutboxDropped != journal.DroppedExpired || !r.PublishedAt.IsZero() {
		t.Errorf("stale record 1: outbox_dropped %q, published %v", r.OutboxDropped, r.PublishedAt)
	}
}

// The journal's disk fills up: verdicts still reach the PLC, at once and
// in order, flagged "journaled": false, the status says why, and once
// space is freed verdicts are journaled again.
func TestVerdictsReachThePLCWhileTheDiskIsFull(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/#", nil)
	dir := tmpfs.Mount(t, 8<<20)
	j, err := journal.Open(journal.Options{Dir: dir, FlushInterval: 5 * time.Millisecond, MaxPending: 50, Log: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	app := newFakeApp()
	l, stop := runLink(t, testOptions(b.URL()), journalOutbox{j}, app)
	defer stop()
	awaitConnected(t, l)
	ctx := context.Background()
	write := func(from, to int) {
		for i := from; i <= to; i++ {
			if err := j.Write(ctx, &inspect.Result{Verdict: verdict("cam0", uint64(i), defects.Fail)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	journaled := func(m received) bool {
		var v map[string]any
		if err := json.Unmarshal(m.payload, &v); err != nil {
			t.Fatal(err)
		}
		return v["journaled"] == true
	}
	write(1, 20)
	plc.await("verdicts before the disk fills", "/verdict", func(m []received) bool { return len(m) >= 20 })

	filler := tmpfs.Fill(t, dir)
	write(21, 320) // many more than MaxPending
	testenv.WaitFor(t, "the journal to say it is degraded", func() bool { return j.Degraded() != "" })
	app.set(func(s *Snapshot) { s.Degraded = []string{j.Degraded()} })
	msgs := plc.await("all 320 verdicts", "/verdict", func(m []received) bool { return distinct(verdictIDs(t, m)) >= 320 })
	checkInOrder(t, verdictIDs(t, msgs), 320)
	unjournaled := 0
	for _, m := range msgs {
		if !journaled(m) {
			unjournaled++
		}
	}
	if unjournaled == 0 || uint64(unjournaled) > j.Stats().Unjournaled {
		t.Errorf("%d verdicts flagged not journaled; the journal handed on %d", unjournaled, j.Stats().Unjournaled)
	}
	plc.await("a status that says degraded", "/status", func(m []received) bool {
		return len(m) > 0 && strings.Contains(string(m[len(m)-1].payload), `"degraded":["journal cannot commit`)
	})

	filler.Remove()
	testenv.WaitFor(t, "commits to resume", func() bool { return j.Degraded() == "" && j.Stats().Held == 0 })
	app.set(func(s *Snapshot) { s.Degraded = nil })
	write(321, 330)
	msgs = plc.await("the verdicts after recovery", "/verdict", func(m []received) bool { return distinct(verdictIDs(t, m)) >= 330 })
	checkInOrder(t, verdictIDs(t, msgs), 330)
	for _, m := range msgs[len(msgs)-10:] {
		if !journaled(m) {
			t.Errorf("after recovery a verdict is not journaled: %s", m.payload)
		}
	}
}
