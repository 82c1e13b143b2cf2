package mqttlink

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestTriggersReachTheAppInOrderAndAfterReconnect(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/+/error", nil)
	ob, app := newOutbox(), newFakeApp()
	l, _ := runLink(t, testOptions(b.URL()), ob, app)
	awaitConnected(t, l)

	var want []string
	for i := range 30 {
		plc.publish("linesight/line1/cam0/trigger", fmt.Appendf(nil, `{"part_id":"P%d"}`, i))
		want = append(want, fmt.Sprintf("cam0/P%d", i))
	}
	awaitTriggers(t, app, len(want))
	if got := app.triggered(); !slices.Equal(got, want) {
		t.Fatalf("triggers = %v, want %v", got, want)
	}

	// The session is clean, so the link must subscribe again after the
	// broker comes back.
	b.Stop(syscall.SIGKILL)
	b.Start()
	awaitConnected(t, l)
	// The reconnect may not be complete when Connected turns true for a
	// moment before the loss is seen; keep sending until one lands.
	for i := 0; len(app.triggered()) == len(want); i++ {
		if i > 600 {
			t.Fatal("no trigger delivered after the broker restarted")
		}
		plc.publish("linesight/line1/cam0/trigger", []byte(`{"part_id":"after"}`))
		select {
		case <-app.changed:
		case <-timeAfter(50):
		}
	}
	if got := app.triggered(); got[len(want)] != "cam0/after" {
		t.Fatalf("after reconnect got %v", got[len(want):])
	}
	if n := len(plc.on("/error")); n != 0 {
		t.Fatalf("%d error messages for good triggers: %s", n, plc.on("/error")[0].payload)
	}
}

func TestBadTriggersGetErrorMessages(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/+/error", nil)
	ob, app := newOutbox(), newFakeApp()
	l, _ := runLink(t, testOptions(b.URL()), ob, app)
	awaitConnected(t, l)

	cases := []struct {
		camera, payload, code string
	}{
		{"cam0", `not json`, CodeMalformed},
		{"cam0", `{"part_id":42}`, CodeMalformed},
		{"cam0", `{"part":"A"}`, CodeMalformed},
		{"cam0", `{"PART_ID":"A"}`, CodeMalformed},
		{"cam0", `{"Part_Id":"A"}`, CodeMalformed},
		{"cam0", `{"V":2,"part_id":"A"}`, CodeMalformed},
		{"cam0", `{"part_id":"A","part_id":"B"}`, CodeMalformed},
		{"cam0", `{"part_id":"A\u001bB"}`, CodeInvalid},
		{"cam0", `{"part_id":"A\u202eB"}`, CodeInvalid},
		{"cam0", `{}`, CodeInvalid},
		{"cam0", `{"part_id":"` + strings.Repeat("x", 2000) + `"}`, CodeTooLarge},
		{"cam9", `{"part_id":"A"}`, CodeUnknownCamera},
	}
	for _, c := range cases {
		plc.publish("linesight/line1/"+c.camera+"/trigger", []byte(c.payload))
	}
	// A good trigger after the bad ones still works: nothing crashed.
	plc.publish("linesight/line1/cam0/trigger", []byte(`{"part_id":"good"}`))
	awaitTriggers(t, app, 1)
	app.mu.Lock()
	app.refuse = errRefused
	app.mu.Unlock()
	plc.publish("linesight/line1/cam0/trigger", []byte(`{"part_id":"R1"}`))
	cases = append(cases, struct{ camera, payload, code string }{"cam0", `{"part_id":"R1"}`, CodeRefused})

	msgs := plc.await("error messages", "/error", func(m []received) bool { return len(m) >= len(cases) })
	for i, c := range cases {
		m := msgs[i]
		var e ErrorMessage
		if err := json.Unmarshal(m.payload, &e); err != nil {
			t.Fatal(err)
		}
		if m.topic != "linesight/line1/"+c.camera+"/error" || e.Code != c.code || e.Reason == "" || e.Camera != c.camera || e.Size != len(c.payload) || e.V != 1 {
			t.Errorf("payload %.40q: error %s on %s; want code %s", c.payload, m.payload, m.topic, c.code)
		}
	}
	if e := msgs[len(cases)-1]; !strings.Contains(string(e.payload), `"part_id":"R1"`) {
		t.Errorf("refusal does not name the part: %s", e.payload)
	}
	if got := app.triggered(); !slices.Equal(got, []string{"cam0/good"}) {
		t.Errorf("triggers = %v", got)
	}
}

// A trigger refused because too many are waiting still names its part, so
// the PLC knows which part gets no verdict.
func TestRefusedForAFullQueueNamesThePart(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/+/error", nil)
	ob, app := newOutbox(), newFakeApp()
	l, _ := runLink(t, testOptions(b.URL()), ob, app)
	awaitConnected(t, l)
	hold := make(chan struct{}) // the appliance takes none until released
	app.mu.Lock()
	app.hold = hold
	app.mu.Unlock()
	release := sync.OnceFunc(func() {
		app.mu.Lock()
		app.hold = nil
		app.mu.Unlock()
		close(hold)
	})
	t.Cleanup(release) // runs before the link stops, so a failure does not hang it

	// One is held by the appliance, triggerQueue wait, the rest are refused.
	const sent = triggerQueue + 10
	for i := range sent {
		plc.publish("linesight/line1/cam0/trigger", fmt.Appendf(nil, `{"part_id":"Q%d"}`, i))
	}
	msgs := plc.await("refusals", "/error", func(m []received) bool { return len(m) >= sent-triggerQueue-1 })
	refused := map[string]bool{}
	for _, m := range msgs {
		var e ErrorMessage
		if err := json.Unmarshal(m.payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Code != CodeRefused || !strings.HasPrefix(e.PartID, "Q") || refused[e.PartID] {
			t.Fatalf("refusal %s: want code refused and the part it refuses", m.payload)
		}
		refused[e.PartID] = true
	}
	release()
	awaitTriggers(t, app, sent-len(refused))
	for _, got := range app.triggered() {
		if refused[strings.TrimPrefix(got, "cam0/")] {
			t.Fatalf("part %s was both refused and inspected", got)
		}
	}
}

func awaitTriggers(t *testing.T, app *fakeApp, n int) {
	t.Helper()
	deadline := timeAfter(int(waitFor.Milliseconds()))
	for len(app.triggered()) < n {
		select {
		case <-app.changed:
		case <-timeAfter(50):
		case <-deadline:
			t.Fatalf("%d of %d triggers arrived", len(app.triggered()), n)
		}
	}
}

// Triggers taken from the broker before the connection ended are served,
// not dropped: the broker has acknowledged them, so only the appliance can
// still answer them (through the outbox, on the next connection).
func TestTriggersQueuedWhenTheSessionEndsAreServed(t *testing.T) {
	app := newFakeApp()
	l, err := New(testOptions("tcp://127.0.0.1:1"), newOutbox(), app)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{lost: make(chan struct{}), triggers: make(chan inbound, triggerQueue)}
	for i := 0; i < 3; i++ {
		s.triggers <- inbound{topic: "linesight/line1/cam0/trigger", payload: []byte(fmt.Sprintf(`{"part_id":"P-%d"}`, i)), at: time.Now()}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.serveTriggers(ctx, s)
	if got := app.triggered(); fmt.Sprint(got) != "[cam0/P-0 cam0/P-1 cam0/P-2]" {
		t.Errorf("triggers served after the session ended: %v", got)
	}
}

// A PLC may trigger the moment it sees the retained "online" status: the
// link subscribes to triggers before it announces itself, so that first
// trigger is taken. A fresh PLC connection per round sees the birth of a
// fresh link session.
func TestTriggerSentOnOnlineIsTaken(t *testing.T) {
	b := startBroker(t, nil)
	ob, app := newOutbox(), newFakeApp()
	for round := range 3 {
		plc := subscribe(t, b.URL(), fmt.Sprintf("plc%d", round), "linesight/line1/status", nil)
		_, stop := runLink(t, testOptions(b.URL()), ob, app)
		plc.await("online status", "/status", func(rs []received) bool {
			for _, r := range rs {
				if !r.retained && strings.Contains(string(r.payload), `"state":"online"`) {
					return true
				}
			}
			return false
		})
		plc.publish("linesight/line1/cam0/trigger", fmt.Appendf(nil, `{"part_id":"R%d"}`, round))
		awaitTriggers(t, app, round+1)
		stop()
		plc.client.Disconnect(0)
	}
}
