package mqttlink

import (
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// publisher moves verdicts from the outbox to the broker over one
// connection. Verdicts are published in outbox order and acknowledged in
// the journal in that order, each only after its PUBACK; so after a lost
// connection the next one starts from the first unacknowledged entry, and
// nothing is skipped or reordered.
type publisher struct {
	l    *Link
	s    *session
	next uint64 // the last entry handed to paho
	win  []inflight
}

type inflight struct {
	e   Entry
	tok paho.Token
}

// fill publishes entries until the window is full or the outbox is empty.
func (p *publisher) fill() error {
	room := p.l.o.Window - len(p.win)
	if room <= 0 {
		return nil
	}
	entries, err := p.l.outbox.Pending(p.next, room)
	if err != nil {
		return fmt.Errorf("outbox pending after %d: %w", p.next, err)
	}
	for _, e := range entries {
		now := time.Now()
		// Late: it waited longer than the PLC can use, or it was held while
		// the link was down (queued before this connection came up).
		late := now.Sub(e.Verdict.InferredAt) > p.l.o.LateAfter || e.QueuedAt.Before(p.s.connectedAt)
		msg := newVerdictMessage(p.l.o.Line, e, now, late)
		tok := p.s.client.Publish(p.l.topics.Verdict(e.Verdict.Camera), 1, false, mustJSON(msg))
		p.win = append(p.win, inflight{e, tok})
		p.next = e.ID
	}
	return nil
}

// headDone is the completion of the oldest publish in flight; nil (never
// ready) when none is.
func (p *publisher) headDone() <-chan struct{} {
	if len(p.win) == 0 {
		return nil
	}
	return p.win[0].tok.Done()
}

// complete acknowledges the oldest publish in the journal once its PUBACK
// came. An error ends the connection; its entries are published again on
// the next one.
func (p *publisher) complete() error {
	h := p.win[0]
	if err := h.tok.Error(); err != nil {
		return fmt.Errorf("publish verdict %d: %w", h.e.ID, err)
	}
	if err := p.l.outbox.Ack(h.e.ID, time.Now()); err != nil {
		return fmt.Errorf("ack outbox entry %d: %w", h.e.ID, err)
	}
	p.win = p.win[1:]
	p.l.acked = h.e.ID
	p.l.published.Add(1)
	p.l.count(h.e)
	return nil
}

// drain publishes, at shutdown, what the outbox still holds and waits for
// the PUBACKs, up to timeout: the appliance stops the link after its last
// verdicts are in the outbox, and they should reach the PLC before the
// offline status rather than late, after the next start.
func (p *publisher) drain(timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		if err := p.fill(); err != nil {
			p.l.log.Warn("mqtt: outbox not read at shutdown; its verdicts stay in the outbox", "err", err)
		}
		if len(p.win) == 0 {
			return
		}
		select {
		case <-p.headDone():
			if err := p.complete(); err != nil {
				p.l.log.Warn("mqtt: verdict not acknowledged at shutdown; it stays in the outbox", "err", err)
				return
			}
		case <-p.s.lost:
			return
		case <-deadline:
			p.l.log.Warn("mqtt: PUBACKs still outstanding at shutdown; those verdicts stay in the outbox",
				"count", len(p.win), "outbox", p.l.outbox.OutboxLen())
			return
		}
	}
}
