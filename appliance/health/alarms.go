package health

import (
	"fmt"
	"strings"
	"time"
)

// Alarm is a condition an operator should know about. It stays listed while
// the condition holds; acknowledging it only records that someone has seen it.
type Alarm struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Severity       string    `json:"severity"` // info, warning, critical
	Camera         string    `json:"camera,omitempty"`
	Message        string    `json:"message"`
	Since          time.Time `json:"since"`
	Acknowledged   bool      `json:"acknowledged"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
}

// Thresholds for the backlog and disk alarms.
const (
	outboxBacklog = 1000
	diskWarnFree  = 0.10
	diskCritFree  = 0.03
	// outboxExpiredHold keeps the alarm up this long after verdicts last
	// expired, so an operator who looks a little later still sees it.
	outboxExpiredHold = 10 * time.Minute
	// sharedFrameHold keeps the shared-frame warning up this long after
	// two parts were last judged on one frame.
	sharedFrameHold = 10 * time.Minute
)

// Conditions derives the alarm conditions from a health snapshot taken at
// now; Since is filled by the alarm set.
func Conditions(sys System, now time.Time) []Alarm {
	var out []Alarm
	add := func(kind, severity, camera, format string, args ...any) {
		id := kind
		if camera != "" {
			id += ":" + camera
		}
		out = append(out, Alarm{ID: id, Kind: kind, Severity: severity, Camera: camera, Message: fmt.Sprintf(format, args...)})
	}
	switch sys.State {
	case "starting":
		add("warming_up", "info", "", "the appliance is loading the model and preparing the defect classes")
	case "failed":
		add("appliance_failed", "critical", "", "the appliance could not start: %s", sys.Error)
	}
	if len(sys.Degraded) > 0 {
		add("degraded", "critical", "", "%s", strings.Join(sys.Degraded, "; "))
	}
	if sys.Defects.Error != "" {
		add("defects_reload_failed", "warning", "", "the defect-class file was not reloaded, the previous classes are in use: %s", sys.Defects.Error)
	}
	for _, cam := range sys.Cameras {
		if cam.State != "" && cam.State != "connected" && cam.State != "ended" && cam.State != "stopped" {
			msg := fmt.Sprintf("camera %s is %s", cam.ID, cam.State)
			if cam.LastError != "" {
				msg += ": " + cam.LastError
			}
			add("camera_down", "critical", cam.ID, "%s", msg)
		}
		if last := cam.LastSharedFrame; !last.IsZero() && now.Sub(last) < sharedFrameHold {
			add("shared_frames", "warning", cam.ID, "camera %s judged two parts on one frame (%d times since start, the last at %s): check the PLC's trigger timing and the trigger's at",
				cam.ID, cam.SharedFrames, last.UTC().Format(time.TimeOnly))
		}
	}
	if sys.Broker.Configured && !sys.Broker.Connected && sys.State == "ready" {
		add("broker_down", "critical", "", "the MQTT broker is not connected; verdicts wait in the outbox")
	}
	limit := outboxBacklog
	if sys.Outbox.Limit > 0 {
		limit = min(limit, sys.Outbox.Limit/2)
	}
	if sys.Broker.Configured && sys.Outbox.Pending > limit {
		add("outbox_backlog", "warning", "", "%d verdicts are waiting to be published", sys.Outbox.Pending)
	}
	if last := sys.Outbox.LastExpired; sys.Broker.Configured && !last.IsZero() && now.Sub(last) < outboxExpiredHold {
		add("outbox_expired", "warning", "", "%d verdicts waited longer than mqtt.outbox_max_age (%s) and were dropped, never published; the last at %s",
			sys.Outbox.Expired, sys.Outbox.MaxAge, last.UTC().Format(time.TimeOnly))
	}
	if q := sys.JournalQuarantined; len(q) > 0 {
		why := ""
		if q[0].Reason != "" {
			why = " (" + q[0].Reason + ")"
		}
		add("journal_quarantined", "warning", "", "the journal was damaged%s and set aside as %s; a new journal was started. "+
			"`linesight journal recover --file %s --out FILE` copies out what it holds; move the file out of the data directory to clear this alarm",
			why, q[0].Path, q[0].Path)
	}
	for _, p := range sys.ProcessAlarms {
		add(p.Kind, p.Severity, p.Camera, "%s", p.Message)
	}
	if sys.Disk.TotalBytes > 0 {
		free := float64(sys.Disk.FreeBytes) / float64(sys.Disk.TotalBytes)
		switch {
		case free < diskCritFree:
			add("disk_full", "critical", "", "the data disk is %.0f%% full", 100*(1-free))
		case free < diskWarnFree:
			add("disk_full", "warning", "", "the data disk is %.0f%% full", 100*(1-free))
		}
	}
	return out
}
