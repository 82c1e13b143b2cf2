package health

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/linesight/linesight/appliance/journal"
)

// Monitor keeps the set of alarms that hold: it evaluates the conditions
// of the health snapshot it is given, records when each alarm was raised,
// who acknowledged it, and hands every raise, clear and acknowledgement to
// its event sink (the journal).
type Monitor struct {
	source func() System
	sink   func(journal.AlarmEvent) error
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	active    map[string]*Alarm
	listeners []func()
}

// NewMonitor watches source; sink (may be nil) gets every event, now is
// the clock (time.Now when nil).
func NewMonitor(source func() System, sink func(journal.AlarmEvent) error, now func() time.Time, log *slog.Logger) *Monitor {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Monitor{source: source, sink: sink, now: now, log: log, active: map[string]*Alarm{}}
}

// OnChange registers fn, called after each change of the set (from the
// goroutine that made it).
func (m *Monitor) OnChange(fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, fn)
}

// Run evaluates the conditions every period until ctx ends.
func (m *Monitor) Run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		m.Check()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check evaluates the conditions now; it reports whether the set changed.
func (m *Monitor) Check() bool {
	now := m.now()
	current := Conditions(m.source(), now)
	var events []journal.AlarmEvent
	m.mu.Lock()
	seen := map[string]bool{}
	changed := false
	for _, c := range current {
		seen[c.ID] = true
		if old, ok := m.active[c.ID]; ok {
			if old.Message != c.Message || old.Severity != c.Severity {
				old.Message, old.Severity = c.Message, c.Severity
				changed = true
			}
			continue
		}
		c.Since = now.UTC()
		m.active[c.ID] = &c
		events = append(events, event(journal.AlarmRaised, c, now, ""))
		changed = true
	}
	for id, al := range m.active {
		if !seen[id] {
			delete(m.active, id)
			events = append(events, event(journal.AlarmCleared, *al, now, ""))
			changed = true
		}
	}
	listeners := m.listeners
	m.mu.Unlock()
	sort.Slice(events, func(i, j int) bool { return events[i].ID < events[j].ID })
	m.record(events...)
	if changed {
		for _, fn := range listeners {
			fn()
		}
	}
	return changed
}

// List returns the alarms that hold, newest first.
func (m *Monitor) List() []Alarm {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Alarm, 0, len(m.active))
	for _, al := range m.active {
		out = append(out, *al)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.After(out[j].Since)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Ack records that user has seen alarm id; false when it does not hold.
// The first acknowledgement counts and is recorded.
func (m *Monitor) Ack(id, user string) (Alarm, bool) {
	now := m.now()
	m.mu.Lock()
	al, ok := m.active[id]
	if !ok {
		m.mu.Unlock()
		return Alarm{}, false
	}
	first := !al.Acknowledged
	if first {
		al.Acknowledged, al.AcknowledgedBy, al.AcknowledgedAt = true, user, now.UTC()
	}
	out := *al
	listeners := m.listeners
	m.mu.Unlock()
	if first {
		m.record(event(journal.AlarmAcknowledged, out, now, user))
		for _, fn := range listeners {
			fn()
		}
	}
	return out, true
}

func (m *Monitor) record(events ...journal.AlarmEvent) {
	if m.sink == nil {
		return
	}
	for _, e := range events {
		if err := m.sink(e); err != nil {
			m.log.Error("alarm event not journaled", "event", e.Event, "alarm", e.ID, "err", err)
		}
	}
}

func event(kind string, a Alarm, now time.Time, by string) journal.AlarmEvent {
	return journal.AlarmEvent{At: now.UTC(), Event: kind, ID: a.ID, Kind: a.Kind, Severity: a.Severity, Camera: a.Camera, Message: a.Message, By: by}
}
