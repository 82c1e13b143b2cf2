package app

import (
	"github.com/linesight/linesight/appliance/update"
)

// UpdateHealth is what the firmware update's health gate reads of the
// running appliance (docs/firmware.md): its state, the frames its cameras
// delivered and it inspected, and its broker, when one is configured.
// broker may be nil (no MQTT link).
func UpdateHealth(a *App, broker Broker) update.Health {
	st := a.Status()
	h := update.Health{State: st.State, Broker: a.Config.MQTT.Broker}
	for _, c := range st.Cameras {
		h.Frames += c.Frames
		h.Inspected += c.Inspected
	}
	if broker != nil {
		h.Connected = broker.Connected()
	}
	return h
}
