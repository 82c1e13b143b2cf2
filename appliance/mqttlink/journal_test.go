package mqttlink

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

// journalOutbox adapts the real journal to the link, as the app does.
type journalOutbox struct{ *journal.Journal }

func (o journalOutbox) Pending(after uint64, limit int) ([]Entry, error) {
	es, err := o.Journal.Pending(after, limit)
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry{ID: e.ID, Verdict: e.Verdict, QueuedAt: e.QueuedAt}
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
	defer j.Close()
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
