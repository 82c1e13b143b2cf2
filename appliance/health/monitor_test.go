package health

import (
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/internal/testenv"
)

// Every process-alarm kind (and a system alarm) raised, acknowledged and
// cleared lands in a real journal as events, in order, and the history
// reads them back newest first.
func TestAlarmEventsAreJournaled(t *testing.T) {
	j, err := journal.Open(journal.Options{Dir: t.TempDir(), FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	clock := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	sys := System{State: "ready"}
	m := NewMonitor(func() System { mu.Lock(); defer mu.Unlock(); return sys }, j.AddAlarmEvent, func() time.Time { return clock }, nil)
	changes := 0
	m.OnChange(func() { changes++ })
	set := func(f func(*System)) { mu.Lock(); f(&sys); mu.Unlock() }

	kinds := []string{processalarm.KindLowYield, processalarm.KindFailStreak, processalarm.KindClassRising, processalarm.KindNoParts, processalarm.KindFPSLow}
	for _, k := range kinds {
		set(func(s *System) {
			s.ProcessAlarms = []processalarm.Alarm{{Kind: k, Severity: "warning", Camera: "cam0", Message: k + " holds"}}
		})
		clock = clock.Add(time.Minute)
		if !m.Check() {
			t.Fatalf("%s: raising it changed nothing", k)
		}
		if _, ok := m.Ack(k+":cam0", "olga"); !ok {
			t.Fatalf("%s: not active to acknowledge", k)
		}
		m.Ack(k+":cam0", "erik") // the first acknowledgement counts
		set(func(s *System) { s.ProcessAlarms = nil })
		clock = clock.Add(time.Minute)
		m.Check()
	}
	set(func(s *System) { s.Broker = BrokerInfo{Configured: true} })
	clock = clock.Add(time.Minute)
	m.Check()
	if m.Check() {
		t.Error("a second check with nothing new changed the set")
	}

	events, err := j.AlarmEvents(time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3*len(kinds)+1 {
		t.Fatalf("%d events, want %d: %+v", len(events), 3*len(kinds)+1, events)
	}
	if e := events[0]; e.Event != journal.AlarmRaised || e.Kind != "broker_down" || e.Severity != "critical" {
		t.Errorf("newest event %+v, want broker_down raised", e)
	}
	for i, k := range kinds {
		// Oldest first from the end: raised, acknowledged, cleared.
		base := len(events) - 1 - 3*i
		got := []journal.AlarmEvent{events[base], events[base-1], events[base-2]}
		if got[0].Event != journal.AlarmRaised || got[1].Event != journal.AlarmAcknowledged || got[2].Event != journal.AlarmCleared ||
			got[0].Kind != k || got[1].By != "olga" || got[2].Camera != "cam0" || got[0].Message != k+" holds" {
			t.Errorf("%s: events %+v", k, got)
		}
	}
	// A window and a limit.
	from := time.Date(2026, 12, 3, 8, 0, 30, 0, time.UTC)
	to := from.Add(2 * time.Minute)
	window, err := j.AlarmEvents(from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(window) != 3 || window[0].Event != journal.AlarmCleared || window[2].Event != journal.AlarmRaised {
		t.Errorf("events in [%s, %s): %+v", from, to, window)
	}
	if two, err := j.AlarmEvents(time.Time{}, time.Time{}, 2); err != nil {
		t.Fatal(err)
	} else if len(two) != 2 {
		t.Errorf("limit 2 gave %d", len(two))
	}
	if changes < 2*len(kinds)+1 {
		t.Errorf("%d change notices, want one per raise, acknowledgement and clear", changes)
	}
}
