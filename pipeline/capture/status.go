package capture

import "time"

// Camera states.
const (
	StateConnecting   = "connecting"   // opening for the first time
	StateConnected    = "connected"    // open and delivering
	StateReconnecting = "reconnecting" // failed or stalled; waiting or reopening
	StateStopped      = "stopped"      // Run returned because its context ended
	StateEnded        = "ended"        // a finite source (file, folder) ran out
)

// CameraStatus is what the dashboard and health checks see of a camera.
type CameraStatus struct {
	State      string    `json:"state"`
	LastFrame  time.Time `json:"last_frame"`
	Reconnects int       `json:"reconnects"`
	LastError  string    `json:"last_error,omitempty"`
	FPS        float64   `json:"fps"`
	Frames     uint64    `json:"frames"`
}

// rateMeter smooths the frame rate over roughly the last ten frames.
type rateMeter struct {
	last time.Time
	fps  float64
}

func (m *rateMeter) tick(now time.Time) float64 {
	if !m.last.IsZero() {
		if dt := now.Sub(m.last).Seconds(); dt > 0 {
			if m.fps == 0 {
				m.fps = 1 / dt
			} else {
				m.fps += (1/dt - m.fps) * 0.1
			}
		}
	}
	m.last = now
	return m.fps
}

func (m *rateMeter) reset() { *m = rateMeter{} }
