// Package health is the appliance's health at a glance (System) and the
// alarms raised from it: the rules, the set that holds with who
// acknowledged what, and the events of each raise, clear and
// acknowledgement, which the journal keeps (docs/alarms.md). The dashboard
// and the PLC links show what it holds; they decide nothing.
package health

import (
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/processalarm"
)

// System is the appliance's health at a glance: what the dashboard's
// /system shows and what the alarms are raised from.
type System struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	// ConfigHash is the appliance configuration's hash (the MQTT status's
	// config_hash); the defect file's is Defects.DefectsHash.
	ConfigHash string `json:"config_hash"`
	Line       string `json:"line"`
	State      string `json:"state"`
	Error      string `json:"error,omitempty"`
	// Degraded lists what keeps the appliance from working as it should
	// while it inspects; /readyz answers 503 while it is not empty.
	Degraded  []string     `json:"degraded,omitempty"`
	StartedAt time.Time    `json:"started_at"`
	Warmup    Warmup       `json:"warmup"`
	Model     ModelInfo    `json:"model"`
	Defects   DefectsInfo  `json:"defects"`
	Cameras   []CameraInfo `json:"cameras"`
	Broker    BrokerInfo   `json:"broker"`
	Outbox    OutboxInfo   `json:"outbox"`
	Disk      DiskInfo     `json:"disk"`
	Journal   any          `json:"journal,omitempty"`
	// ProcessAlarms are the process alarms that hold (docs/alarms.md).
	ProcessAlarms []processalarm.Alarm `json:"process_alarms,omitempty"`
	// JournalQuarantined lists damaged journals set aside in data_dir.
	JournalQuarantined []journal.Quarantine `json:"journal_quarantined,omitempty"`
}

// Warmup is "starting", "ready" or "failed" (the words of the MQTT status
// too: app.Warmup), and how long it took once ready.
type Warmup struct {
	State    string        `json:"state"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// ModelInfo is the model that runs.
type ModelInfo struct {
	Bundle   string `json:"bundle"`
	Variant  string `json:"variant"`
	Digest   string `json:"digest"`
	Provider string `json:"provider"`
	// Synthetic: seeded random weights; the dashboard says so on every page.
	Synthetic bool `json:"synthetic,omitempty"`
}

// DefectsInfo is the defect-class file in use. ConfigHash holds its hash
// under its first name: deprecated, the same as DefectsHash, and not the
// appliance configuration's hash (System.ConfigHash).
type DefectsInfo struct {
	DefectsHash string    `json:"defects_hash"`
	ConfigHash  string    `json:"config_hash"`
	LoadedAt    time.Time `json:"loaded_at,omitzero"`
	Error       string    `json:"error,omitempty"`
}

// CameraInfo is a camera's capture state.
type CameraInfo struct {
	ID        string    `json:"id"`
	Mode      string    `json:"mode"`
	State     string    `json:"state"`
	FPS       float64   `json:"fps"`
	LastFrame time.Time `json:"last_frame,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	// SharedFrames counts triggers judged on a frame another trigger was
	// given too, the last at LastSharedFrame.
	SharedFrames    uint64    `json:"shared_frames,omitempty"`
	LastSharedFrame time.Time `json:"last_shared_frame,omitzero"`
}

// BrokerInfo is the MQTT link.
type BrokerInfo struct {
	Configured bool   `json:"configured"`
	Connected  bool   `json:"connected"`
	Published  uint64 `json:"published,omitempty"`
}

// OutboxInfo is the MQTT outbox; all zero when no broker is configured, as
// nothing is queued then.
type OutboxInfo struct {
	Pending int `json:"pending"`
	Limit   int `json:"limit"` // 0: no limit
	// MaxAge is mqtt.outbox_max_age; Expired counts the verdicts dropped
	// for it since start, never published, the last at LastExpired.
	MaxAge      time.Duration `json:"max_age_ns"`
	Expired     uint64        `json:"expired"`
	LastExpired time.Time     `json:"last_expired,omitzero"`
	// Dropped counts the verdicts the full outbox dropped or refused since
	// start, never published.
	Dropped uint64 `json:"dropped"`
}

// DiskInfo is the data directory's disk.
type DiskInfo struct {
	Path         string  `json:"path"`
	TotalBytes   uint64  `json:"total_bytes"`
	FreeBytes    uint64  `json:"free_bytes"`
	UsedFraction float64 `json:"used_fraction"`
}
