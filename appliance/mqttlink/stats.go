package mqttlink

import (
	"time"

	"github.com/linesight/linesight/defects"
)

// cameraCounts are the verdict counters of one camera, kept by Run's
// goroutine from the verdicts the broker acknowledged.
type cameraCounts struct {
	ok, ng, uncertain, missed uint64
	// processing over the current stats interval
	n             int
	sum, min, max time.Duration
}

func (l *Link) count(e Entry) {
	v := e.Verdict
	c := l.stats[v.Camera]
	if c == nil {
		c = &cameraCounts{}
		l.stats[v.Camera] = c
	}
	switch v.Outcome {
	case defects.Pass:
		c.ok++
	case defects.Fail:
		c.ng++
	case defects.Uncertain:
		c.uncertain++
	case defects.Missed:
		c.missed++
		return // no processing time: nothing was processed
	}
	if c.n == 0 || v.Latency < c.min {
		c.min = v.Latency
	}
	c.max = max(c.max, v.Latency)
	c.sum += v.Latency
	c.n++
}

// publishStats sends the counters at QoS 0: a lost stats message is
// replaced by the next, and counters are cumulative.
func (l *Link) publishStats(s *session) {
	snap := l.app.Snapshot()
	now := time.Now()
	msg := StatsMessage{
		V: ContractVersion, Line: l.o.Line, At: now.UTC(), StartedAt: l.startedAt.UTC(),
		IntervalS: l.o.MQTT.StatsInterval.Seconds(), State: snap.State,
		OutboxPending: l.outbox.OutboxLen(), OutboxDropped: snap.OutboxDropped,
		OutboxExpired: snap.OutboxExpired, Cameras: []CameraStats{},
	}
	counters := map[string]CameraCounters{}
	for _, c := range snap.Cameras {
		counters[c.Camera] = c
	}
	for _, cam := range l.o.Cameras {
		a := counters[cam.ID]
		cs := CameraStats{Camera: cam.ID, Triggers: a.Triggers, Inspected: a.Inspected, MissedTriggers: a.MissedTriggers, SharedFrames: a.SharedFrames, Dropped: a.Dropped}
		if c := l.stats[cam.ID]; c != nil {
			cs.OK, cs.NG, cs.Uncertain, cs.Missed = c.ok, c.ng, c.uncertain, c.missed
			if c.n > 0 {
				cs.Processing = Processing{Count: c.n, MinMS: ms(c.min), AvgMS: ms(c.sum / time.Duration(c.n)), MaxMS: ms(c.max)}
			}
			c.n, c.sum, c.min, c.max = 0, 0, 0, 0
		}
		msg.Cameras = append(msg.Cameras, cs)
	}
	// Not waited for: QoS 0 completes on write, and the loop must not stall.
	s.client.Publish(l.topics.Stats(), 0, false, mustJSON(msg))
}
