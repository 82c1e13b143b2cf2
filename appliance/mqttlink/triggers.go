package mqttlink

import (
	"context"
	"errors"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/trigger"
)

// triggerQueue is how many triggers may wait for the appliance; beyond it
// they are refused with an error message rather than stall paho's router.
const triggerQueue = 256

type inbound struct {
	topic   string
	payload []byte
	at      time.Time
}

// onTrigger hands a trigger message to serveTriggers. paho calls it from
// its router (order matters), where blocking or publishing is not allowed.
func (l *Link) onTrigger(s *session) paho.MessageHandler {
	return func(_ paho.Client, m paho.Message) {
		in := inbound{topic: m.Topic(), payload: m.Payload(), at: time.Now()}
		select {
		case s.triggers <- in:
		default:
			// Refused, and said so: the publish runs on its own goroutine
			// because the router must not block. The part is named when the
			// payload can be read, so the PLC knows which part has no verdict.
			camera, _ := l.topics.TriggerCamera(in.topic)
			e := &ErrorMessage{V: ContractVersion, Line: l.o.Line, Camera: camera, At: in.at.UTC(), Size: len(in.payload),
				Code: CodeRefused, Reason: fmt.Sprintf("%d triggers are already waiting; trigger refused", triggerQueue)}
			if t, err := trigger.Decode(in.payload); err == nil {
				e.PartID = t.PartID
			}
			l.log.Error("mqtt: trigger queue full; trigger refused", "topic", in.topic, "part_id", e.PartID)
			go s.client.Publish(l.topics.Error(camera), 1, false, mustJSON(e))
		}
	}
}

// serveTriggers feeds triggers to the appliance in arrival order and
// answers bad ones on the camera's error topic. When the session ends, the
// triggers already taken from the broker (and acknowledged to it) are still
// served: their verdicts go out through the outbox on the next connection.
func (l *Link) serveTriggers(ctx context.Context, s *session) {
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case in := <-s.triggers:
					if e := l.handleTrigger(in); e != nil {
						l.log.Warn("mqtt: trigger rejected after the connection ended", "topic", in.topic, "code", e.Code, "reason", e.Reason)
					}
				default:
					return
				}
			}
		case in := <-s.triggers:
			if e := l.handleTrigger(in); e != nil {
				l.log.Warn("mqtt: trigger rejected", "topic", in.topic, "code", e.Code, "reason", e.Reason, "size", e.Size)
				tok := s.client.Publish(l.topics.Error(e.Camera), 1, false, mustJSON(e))
				if err := wait(ctx, tok, s.lost); err != nil && ctx.Err() == nil {
					l.log.Warn("mqtt: publish trigger error", "err", err)
				}
			}
		}
	}
}

// handleTrigger starts an inspection, or says why it could not.
func (l *Link) handleTrigger(in inbound) *ErrorMessage {
	camera, _ := l.topics.TriggerCamera(in.topic)
	e := &ErrorMessage{V: ContractVersion, Line: l.o.Line, Camera: camera, At: in.at.UTC(), Size: len(in.payload)}
	if !l.cameras[camera] {
		e.Code, e.Reason = CodeUnknownCamera, fmt.Sprintf("no camera %q on this line", camera)
		return e
	}
	t, err := trigger.Decode(in.payload)
	if err != nil {
		var te *trigger.Error
		errors.As(err, &te)
		e.Code, e.Reason, e.PartID = te.Code, te.Reason, t.PartID
		return e
	}
	e.PartID = t.PartID
	if err := l.app.Trigger(camera, t, in.at); err != nil {
		e.Code, e.Reason = CodeRefused, err.Error()
		return e
	}
	return nil
}
