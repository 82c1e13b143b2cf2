package app

import (
	"fmt"
	"syscall"
	"time"

	"github.com/linesight/linesight/appliance/health"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/pipeline/capture"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/metrics"
)

// Status is the appliance at a glance, the one status model: the status
// API shows it whole, and the dashboard's health summary (System), the
// MQTT status and stats (mqttSnapshot) and the firmware update's health
// gate (UpdateHealth) are each a projection of it, so they never disagree.
type Status struct {
	Line    string `json:"line"`
	Version string `json:"version,omitempty"`
	// ConfigHash is the appliance configuration's hash; the defect file's
	// is Defects.DefectsHash.
	ConfigHash string    `json:"config_hash"`
	StartedAt  time.Time `json:"started_at"`
	State      string    `json:"state"`
	Error      string    `json:"error,omitempty"`
	// Degraded lists what keeps the appliance from working as it should
	// while it inspects (a journal that cannot commit).
	Degraded []string      `json:"degraded,omitempty"`
	Uptime   time.Duration `json:"uptime_ns"`
	// Warmup is how long loading the model and preparing the prompts took.
	Warmup  time.Duration `json:"warmup_ns,omitempty"`
	Model   ModelStatus   `json:"model"`
	Defects ReloadStatus  `json:"defects"`
	// Recipe is the active recipe and Recipes those the file offers
	// (docs/recipes.md); empty without recipes.
	Recipe  string   `json:"recipe,omitempty"`
	Recipes []string `json:"recipes,omitempty"`
	// Cameras are the configured cameras in order; counted while the
	// appliance inspects.
	Cameras []CameraStatus `json:"cameras"`
	// Inference is the vision encoder's time per batch.
	Inference metrics.HistogramSnapshot `json:"inference"`
	// Tuning is the memory-aware choice and the adaptive monitor, when on.
	Tuning *TuningStatus `json:"tuning,omitempty"`
	// Escalation counts frames sent to the escalation server, when on.
	Escalation *EscalationStatus `json:"escalation,omitempty"`
	// Anomaly says, per set with anomaly settings, whether its anomaly
	// detection runs and why not.
	Anomaly []AnomalyStatus `json:"anomaly,omitempty"`
	// Alarms are the process alarms that hold (docs/alarms.md); none
	// before the appliance inspects.
	Alarms []processalarm.Alarm `json:"process_alarms,omitempty"`
	// Broker is the MQTT link; Outbox its queue, all zero without a broker
	// (nothing is queued then).
	Broker health.BrokerInfo `json:"broker"`
	Outbox health.OutboxInfo `json:"outbox"`
	// Journal is the journal's counters; nil before one is attached.
	Journal *journal.Stats `json:"journal,omitempty"`
	// JournalDegraded says why the journal cannot commit; "" while it can.
	JournalDegraded string `json:"journal_degraded,omitempty"`
	// JournalQuarantined lists damaged journals set aside in data_dir.
	JournalQuarantined []journal.Quarantine `json:"journal_quarantined,omitempty"`
	Disk               health.DiskInfo      `json:"disk"`
}

// StatusJournal is what the status reads of the journal; *journal.Journal
// is one.
type StatusJournal interface {
	Stats() journal.Stats
	OutboxLen() int
	Quarantined() []journal.Quarantine
	Degraded() string
}

var _ StatusJournal = (*journal.Journal)(nil)

// Broker is what the status reads of the MQTT link; *mqttlink.Link is one.
type Broker interface {
	Connected() bool
	Published() uint64
}

// ModelStatus says which model runs, and where.
type ModelStatus struct {
	Bundle   string `json:"bundle"`
	Variant  string `json:"variant"`
	Digest   string `json:"digest"`
	Provider string `json:"provider"`
	// Synthetic: the bundle has seeded random weights (its provenance says
	// so), and its verdicts mean nothing.
	Synthetic bool `json:"synthetic,omitempty"`
}

// CameraStatus joins a camera's capture state and its inspection counters.
type CameraStatus struct {
	ID        string               `json:"id"`
	Mode      string               `json:"mode"`
	Capture   capture.CameraStatus `json:"capture"`
	Frames    uint64               `json:"frames"`
	Inspected uint64               `json:"inspected"`
	Skipped   uint64               `json:"skipped"`
	Dropped   uint64               `json:"dropped"`
	Triggers  uint64               `json:"triggers"`
	Missed    uint64               `json:"missed"`
	// SharedFrames counts triggers judged on a frame another trigger was
	// judged on too.
	SharedFrames uint64 `json:"shared_frames"`
	// LastSharedFrame is when the last one was; zero before any.
	LastSharedFrame time.Time                 `json:"last_shared_frame,omitzero"`
	QueueDepth      int64                     `json:"queue_depth"`
	Latency         metrics.HistogramSnapshot `json:"latency"`
}

// Status reports the appliance's state; it is safe to call at any time.
func (a *App) Status() Status {
	cfg := a.Config
	s := Status{Line: cfg.Line, Version: a.Version, ConfigHash: a.configHash, StartedAt: a.startAt.UTC(),
		State: a.State(), Error: a.lastErr.Load().(string), Uptime: time.Since(a.startAt),
		Warmup: time.Duration(a.warmup.Load()), Degraded: a.Degraded(), Disk: diskInfo(cfg.DataDir)}
	s.Model.Bundle, s.Model.Variant = cfg.Model.Bundle, cfg.Model.Variant
	s.Broker.Configured = cfg.MQTT.Broker != ""
	if a.Broker != nil {
		s.Broker.Connected, s.Broker.Published = a.Broker.Connected(), a.Broker.Published()
	}
	if a.Journal != nil {
		js := a.Journal.Stats()
		s.Journal, s.JournalQuarantined, s.JournalDegraded = &js, a.Journal.Quarantined(), a.Journal.Degraded()
		if s.Broker.Configured {
			s.Outbox = health.OutboxInfo{Pending: a.Journal.OutboxLen(), Limit: cfg.MQTT.OutboxLimit, MaxAge: cfg.MQTT.OutboxMaxAge,
				Expired: js.OutboxExpired, LastExpired: js.OutboxLastExpired, Dropped: js.OutboxDropped + js.OutboxRefused}
		}
	}
	// The model is read under mu: Run releases it as it returns, which may
	// be between reading the state above and here.
	var model *clip.Model
	if s.State == StateReady || s.State == StateStopping {
		a.mu.Lock()
		model = a.model
		a.mu.Unlock()
	}
	if model == nil {
		// Not inspecting: the cameras as configured, nothing counted.
		for _, c := range cfg.Cameras {
			s.Cameras = append(s.Cameras, CameraStatus{ID: c.ID, Mode: c.Mode})
		}
		return s
	}
	s.Model.Variant, s.Model.Digest, s.Model.Provider = model.Variant, model.Digest, model.Vision.Provider()
	s.Model.Synthetic = model.Bundle.Provenance.Synthetic
	s.Defects = a.reload.get()
	s.Recipe, s.Recipes = a.Recipe(), a.Recipes()
	s.Inference = a.loop.Inference.Snapshot()
	s.Tuning, s.Escalation = a.tuningStatus(), a.escalationStatus()
	a.mu.Lock()
	s.Anomaly = append([]AnomalyStatus(nil), a.anomaly...)
	a.mu.Unlock()
	for _, an := range s.Anomaly {
		if !an.Active {
			s.Degraded = append(s.Degraded, fmt.Sprintf("anomaly detection of set %s is off: %s", an.Set, an.Reason))
		}
	}
	s.Cameras = a.cameraStatus()
	if s.State == StateReady {
		s.Alarms = a.processAlarmsOf(s.Cameras)
	}
	return s
}

// cameraStatus is each camera's capture state and counters, once the
// appliance inspects.
func (a *App) cameraStatus() []CameraStatus {
	var out []CameraStatus
	for i, c := range a.Config.Cameras {
		st := a.loop.CameraStats(c.ID)
		out = append(out, CameraStatus{
			ID: c.ID, Mode: c.Mode, Capture: a.cameras[i].Status(),
			Frames: st.Frames.Value(), Inspected: st.Inspected.Value(), Skipped: st.Skipped.Value(),
			Dropped: st.Dropped.Value(), Triggers: st.Triggers.Value(), Missed: st.Missed.Value(), SharedFrames: st.SharedFrames.Value(), LastSharedFrame: unixNanoTime(st.LastShared.Value()),
			QueueDepth: st.QueueDepth.Value(), Latency: st.Latency.Snapshot(),
		})
	}
	return out
}

func diskInfo(dir string) health.DiskInfo {
	d := health.DiskInfo{Path: dir}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil {
		d.TotalBytes = fs.Blocks * uint64(fs.Bsize)
		d.FreeBytes = fs.Bavail * uint64(fs.Bsize)
		if d.TotalBytes > 0 {
			d.UsedFraction = 1 - float64(d.FreeBytes)/float64(d.TotalBytes)
		}
	}
	return d
}

// unixNanoTime is the time of Unix nanoseconds ns; zero for 0.
func unixNanoTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// The warm-up words the dashboard and the MQTT status both show.
const (
	WarmupStarting = "starting" // loading the model, preparing the prompts
	WarmupReady    = "ready"    // done: inspecting, stopping or stopped
	WarmupFailed   = "failed"   // could not start; see the error
)

// Warmup is the warm-up word of a lifecycle state: one rule for every
// status payload.
func Warmup(state string) string {
	switch state {
	case StateStarting:
		return WarmupStarting
	case StateFailed:
		return WarmupFailed
	}
	return WarmupReady
}
