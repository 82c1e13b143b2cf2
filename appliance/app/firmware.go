package app

import (
	"github.com/linesight/linesight/appliance/update"
)

// UpdateHealth is what the firmware update's health gate reads of the
// running appliance (docs/firmware.md): its state, the frames its cameras
// delivered and it inspected, and its broker, when one is configured.
func UpdateHealth(a *App) update.Health { return a.Status().UpdateHealth(a.Config.MQTT.Broker) }

// UpdateHealth is the status as the health gate reads it; broker is the
// configured broker's address.
func (st Status) UpdateHealth(broker string) update.Health {
	h := update.Health{State: st.State, Broker: broker, Connected: st.Broker.Connected}
	for _, c := range st.Cameras {
		h.Frames += c.Frames
		h.Inspected += c.Inspected
	}
	return h
}
