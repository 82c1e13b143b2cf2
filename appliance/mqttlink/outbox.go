package mqttlink

import (
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/appliance/trigger"
	"time"

	"github.com/linesight/linesight/defects"
)

// Entry is one verdict waiting in the journal's outbox.
type Entry struct {
	ID       uint64 // increasing in journal order; never reused
	Verdict  defects.Verdict
	QueuedAt time.Time
	// NotJournaled marks a verdict the journal could not commit (its disk
	// is full); it is published all the same, flagged.
	NotJournaled bool
}

// Outbox is the journal's queue of verdicts not yet acknowledged by the
// broker. It lives on disk, so what is in it survives a restart.
type Outbox interface {
	// Pending returns up to limit entries with IDs above after, in ID order.
	Pending(after uint64, limit int) ([]Entry, error)
	// Ack removes an entry once the broker has acknowledged it.
	Ack(id uint64, at time.Time) error
	// OutboxNotify signals, coalesced, that entries were added.
	OutboxNotify() <-chan struct{}
	// OutboxLen is how many entries wait.
	OutboxLen() int
}

// Appliance is what the link needs from the running appliance.
type Appliance interface {
	// Trigger asks for an inspection of a part on a triggered camera.
	// Trigger serves a decoded trigger that arrived at arrived: by the
	// PLC's time when it gives one (t.At), else by its arrival.
	Trigger(camera string, t trigger.Trigger, arrived time.Time) error
	// Snapshot is the appliance's state for status and stats; it is called
	// often, so it must be cheap and safe at any time.
	Snapshot() Snapshot
	// SetRecipe changes the active recipe, as the PLC asked.
	SetRecipe(name, by string) error
}

// Snapshot is the appliance as the link reports it.
type Snapshot struct {
	State       string // the appliance's lifecycle state
	Warmup      string // WarmupStarting, WarmupReady or WarmupFailed
	Error       string
	StartedAt   time.Time
	Model       ModelInfo
	DefectsHash string
	Cameras     []CameraCounters
	// OutboxDropped counts verdicts never queued for the broker because
	// the outbox was full; OutboxExpired those dropped for waiting longer
	// than the outbox's max age. Neither is ever published.
	OutboxDropped uint64
	OutboxExpired uint64
	// Degraded lists what keeps the appliance from working as it should
	// while it still inspects (a journal that cannot commit); empty when
	// nothing does.
	Degraded []string
	// Alarms are the process alarms that hold (docs/alarms.md).
	Alarms []processalarm.Alarm
	// Recipe is the active recipe, Recipes all the file offers.
	Recipe  string
	Recipes []string
}

// CameraCounters are a camera's counters since the appliance started.
type CameraCounters struct {
	Camera         string
	Triggers       uint64
	Inspected      uint64
	MissedTriggers uint64
	SharedFrames   uint64
	Dropped        uint64
}
