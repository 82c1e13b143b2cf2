package mqttlink

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/linesight/linesight/defects"
)

func TestVerdictsArriveInOrderWithTheirPayloads(t *testing.T) {
	b := startBroker(t, nil)
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/#", nil)
	ob, app := newOutbox(), newFakeApp()
	_, stop := runLink(t, testOptions(b.URL()), ob, app)

	outcomes := []defects.Outcome{defects.Pass, defects.Fail, defects.Uncertain, defects.Missed}
	for i := range 20 {
		ob.Append(verdict("cam0", uint64(i+1), outcomes[i%len(outcomes)]))
	}
	msgs := sub.await("20 verdicts", "/cam0/verdict", func(m []received) bool { return len(m) >= 20 })
	checkInOrder(t, verdictIDs(t, msgs), 20)
	for i, m := range msgs {
		if m.topic != "linesight/line1/cam0/verdict" || m.retained {
			t.Fatalf("verdict on %s retained=%v", m.topic, m.retained)
		}
		var v VerdictMessage
		if err := json.Unmarshal(m.payload, &v); err != nil {
			t.Fatal(err)
		}
		want := verdict("cam0", uint64(i+1), outcomes[i%len(outcomes)])
		if v.V != 1 || v.Seq != want.Seq || v.PartID != want.PartID || v.Outcome != want.Outcome || v.Action != want.Action ||
			v.Class != want.Class || len(v.Scores) != len(want.Scores) || v.ImageRef != fmt.Sprintf("journal:%d", i+1) || v.Line != "line1" {
			t.Errorf("verdict %d = %s", i+1, m.payload)
		}
	}
	awaitEmpty(t, ob)
	stop()
}

// The broker dies mid-run (SIGKILL: no goodbye) and comes back: verdicts
// made meanwhile wait in the outbox and go out in order, none missing.
func TestBrokerOutageDelaysButLosesNothing(t *testing.T) {
	for _, window := range []int{1, 8} {
		t.Run(fmt.Sprintf("window=%d", window), func(t *testing.T) {
			b := startBroker(t, nil)
			sub := subscribe(t, b.URL(), "plc", "linesight/line1/+/verdict", nil)
			ob, app := newOutbox(), newFakeApp()
			o := testOptions(b.URL())
			o.Window = window
			l, _ := runLink(t, o, ob, app)
			awaitConnected(t, l)

			const before, during, after = 100, 50, 100
			for i := range before {
				ob.Append(verdict("cam0", uint64(i+1), defects.Pass))
			}
			// Stop once some, not necessarily all, went out; SIGTERM lets the
			// broker keep the subscriber's session and queue, as a plant
			// broker with persistence does.
			sub.await("first verdicts", "/verdict", func(m []received) bool { return len(m) >= 10 })
			b.Stop(syscall.SIGTERM)
			for i := range during {
				ob.Append(verdict("cam0", uint64(before+i+1), defects.Fail))
			}
			if ob.OutboxLen() == 0 {
				t.Fatal("outbox empty while the broker is down")
			}
			b.Start()
			awaitConnected(t, l)
			for i := range after {
				ob.Append(verdict("cam0", uint64(before+during+i+1), defects.Pass))
			}
			n := before + during + after
			msgs := sub.await("every verdict", "/verdict", func(m []received) bool { return distinct(verdictIDs(t, m)) >= n })
			checkInOrder(t, verdictIDs(t, msgs), n)
			dups := republished(t, msgs)
			t.Logf("%d verdicts, %d redelivered after the outage, %d published", n, dups, l.Published())
			if dups > window {
				t.Errorf("%d redeliveries; at most the window (%d) may be re-sent", dups, window)
			}
			late := 0
			for _, m := range msgs {
				var v VerdictMessage
				if err := json.Unmarshal(m.payload, &v); err != nil {
					t.Fatalf("verdict %s: %v", m.payload, err)
				}
				if v.Late {
					late++
				}
				if v.ID > before && v.ID <= before+during && !v.Late {
					t.Errorf("verdict %d waited out the outage but is not late", v.ID)
				}
				if v.ID > before+during && v.Late && !m.dup {
					t.Errorf("verdict %d was queued while connected but is late", v.ID)
				}
			}
			if late == len(msgs) {
				t.Errorf("every verdict is late")
			}
		})
	}
}

// The link stops with verdicts in the outbox; a new link on the same
// outbox (an appliance restart) publishes them in order.
func TestNewLinkResumesFromTheOutbox(t *testing.T) {
	b := startBroker(t, nil)
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/+/verdict", nil)
	ob, app := newOutbox(), newFakeApp()

	_, stop1 := runLink(t, testOptions(b.URL()), ob, app)
	for i := range 50 {
		ob.Append(verdict("cam0", uint64(i+1), defects.Pass))
	}
	sub.await("some verdicts", "/verdict", func(m []received) bool { return len(m) >= 5 })
	stop1()
	for i := range 50 {
		ob.Append(verdict("cam0", uint64(50+i+1), defects.Pass))
	}
	if ob.OutboxLen() == 0 {
		t.Fatal("outbox empty between links")
	}
	_, stop2 := runLink(t, testOptions(b.URL()), ob, app)
	msgs := sub.await("all 100", "/verdict", func(m []received) bool { return distinct(verdictIDs(t, m)) >= 100 })
	if dups := checkInOrder(t, verdictIDs(t, msgs), 100); dups != 0 {
		t.Errorf("%d verdicts published twice across a clean restart", dups)
	}
	stop2()
}

// When the journal cannot record a PUBACK (the appliance dying between the
// two is the same), that verdict is published again: a duplicate, never a
// loss, and the order holds.
func TestUnrecordedAckIsRepublishedNotLost(t *testing.T) {
	b := startBroker(t, nil)
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/+/verdict", nil)
	ob, app := newOutbox(), newFakeApp()
	failed := false
	ob.ackErr = func(id uint64) error {
		if id == 7 && !failed {
			failed = true
			return errors.New("disk full")
		}
		return nil
	}
	runLink(t, testOptions(b.URL()), ob, app)
	for i := range 15 {
		ob.Append(verdict("cam0", uint64(i+1), defects.Pass))
	}
	msgs := sub.await("15 verdicts", "/verdict", func(m []received) bool { return distinct(verdictIDs(t, m)) >= 15 })
	if dups := checkInOrder(t, verdictIDs(t, msgs), 15); dups != 1 {
		t.Errorf("%d duplicates; want exactly the unrecorded one", dups)
	}
}

// A clean stop publishes what the outbox holds (within the shutdown
// timeout) before the offline status, so the last verdicts of a shutdown
// reach the PLC in time instead of late, after the next start.
func TestCleanStopPublishesTheOutboxBeforeOffline(t *testing.T) {
	b := startBroker(t, nil)
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/#", nil)
	ob, app := newOutbox(), newFakeApp()
	l, stop := runLink(t, testOptions(b.URL()), ob, app)
	awaitConnected(t, l)
	const n = 200
	for i := range n {
		ob.Append(verdict("cam0", uint64(i+1), defects.Pass))
	}
	stop()
	if left := ob.OutboxLen(); left != 0 {
		t.Fatalf("%d verdicts left in the outbox after a clean stop", left)
	}
	sub.await("offline", "/status", func(m []received) bool {
		return len(m) > 0 && strings.Contains(string(m[len(m)-1].payload), `"offline"`)
	})
	sub.mu.Lock()
	defer sub.mu.Unlock()
	lastVerdict, offline := -1, -1
	for i, m := range sub.msgs {
		switch {
		case strings.HasSuffix(m.topic, "/verdict"):
			lastVerdict = i
		case strings.HasSuffix(m.topic, "/status") && strings.Contains(string(m.payload), `"offline"`):
			offline = i
		}
	}
	if lastVerdict > offline {
		t.Errorf("a verdict (message %d) came after the offline status (message %d)", lastVerdict, offline)
	}
}
