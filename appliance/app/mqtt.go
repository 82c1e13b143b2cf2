package app

import (
	"github.com/linesight/linesight/appliance/trigger"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/mqttlink"
)

// MQTTOutbox is the journal's outbox as the MQTT link reads it;
// *journal.Journal is one.
type MQTTOutbox interface {
	Pending(after uint64, limit int) ([]journal.OutboxEntry, error)
	Ack(id uint64, at time.Time) error
	OutboxNotify() <-chan struct{}
	OutboxLen() int
}

var _ MQTTOutbox = (*journal.Journal)(nil)

// NewMQTT makes the link to the line's PLCs (docs/mqtt.md): run, it
// publishes verdicts from the outbox, the status and the stats, and feeds
// triggers to a. It returns a nil link when no broker is configured.
//
// Cancel the link's context only after a.Run has returned and the journal has
// written its last records, so the final verdicts go out before the offline
// status; the link waits a few seconds at most for their PUBACKs.
func NewMQTT(a *App, outbox MQTTOutbox, version string) (*mqttlink.Link, error) {
	cfg := a.Config
	if cfg.MQTT.Broker == "" {
		a.Log.Info("mqtt off: no mqtt.broker configured")
		return nil, nil
	}
	cams := make([]mqttlink.CameraInfo, len(cfg.Cameras))
	for i, c := range cfg.Cameras {
		cams[i] = mqttlink.CameraInfo{ID: c.ID, Mode: c.Mode}
	}
	return mqttlink.New(mqttlink.Options{
		Line: cfg.Line, Cameras: cams, MQTT: cfg.MQTT, Version: version, ConfigHash: cfg.Hash(), Log: a.Log,
	}, journalOutbox{outbox}, mqttApp{a})
}

// journalOutbox converts the journal's entries to the link's.
type journalOutbox struct{ MQTTOutbox }

func (o journalOutbox) Pending(after uint64, limit int) ([]mqttlink.Entry, error) {
	es, err := o.MQTTOutbox.Pending(after, limit)
	out := make([]mqttlink.Entry, len(es))
	for i, e := range es {
		out[i] = mqttlink.Entry{ID: e.ID, Verdict: e.Verdict, QueuedAt: e.QueuedAt, NotJournaled: e.NotJournaled}
	}
	return out, err
}

// mqttApp is the appliance as the link sees it.
type mqttApp struct{ a *App }

func (m mqttApp) Trigger(camera string, t trigger.Trigger, arrived time.Time) error {
	return m.a.TriggerPart(camera, t, arrived)
}

func (m mqttApp) SetRecipe(name, by string) error { return m.a.SetRecipe(name, by) }

func (m mqttApp) Snapshot() mqttlink.Snapshot { return m.a.Status().mqttSnapshot() }

// mqttSnapshot is the status as the MQTT status and stats messages carry it.
func (st Status) mqttSnapshot() mqttlink.Snapshot {
	s := mqttlink.Snapshot{
		State: st.State, Warmup: Warmup(st.State), Error: st.Error, StartedAt: st.StartedAt, DefectsHash: st.Defects.DefectsHash,
		Degraded: st.Degraded, Alarms: st.Alarms, Recipe: st.Recipe, Recipes: st.Recipes,
		Model:         mqttlink.ModelInfo{Digest: st.Model.Digest, Variant: st.Model.Variant, Provider: st.Model.Provider},
		OutboxDropped: st.Outbox.Dropped, OutboxExpired: st.Outbox.Expired,
	}
	for _, c := range st.Cameras {
		s.Cameras = append(s.Cameras, mqttlink.CameraCounters{
			Camera: c.ID, Triggers: c.Triggers, Inspected: c.Inspected, MissedTriggers: c.Missed, SharedFrames: c.SharedFrames, Dropped: c.Dropped,
		})
	}
	return s
}
