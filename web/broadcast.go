package web

import (
	"fmt"
	"sync"
)

// broadcaster fans pre-formatted SSE events out to subscribers. Publishing
// never waits: a subscriber whose buffer is full is dropped, so one slow
// browser cannot hold up the inspection loop or the other clients.
type broadcaster struct {
	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	dropped uint64 // subscribers dropped for being slow
}

type subscriber struct {
	camera string // "" for every camera
	ch     chan []byte
	gone   chan struct{} // closed when dropped or the server stops
}

// subscriberBuffer is how many events a client may fall behind.
const subscriberBuffer = 64

func newBroadcaster() *broadcaster { return &broadcaster{subs: map[*subscriber]struct{}{}} }

func (b *broadcaster) subscribe(camera string) *subscriber {
	s := &subscriber{camera: camera, ch: make(chan []byte, subscriberBuffer), gone: make(chan struct{})}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *broadcaster) unsubscribe(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.gone)
	}
}

// publish sends ev to every subscriber of camera ("" reaches everyone).
func (b *broadcaster) publish(ev []byte, camera string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if camera != "" && s.camera != "" && s.camera != camera {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			delete(b.subs, s)
			close(s.gone)
			b.dropped++
		}
	}
}

// closeAll ends every subscription (server shutdown).
func (b *broadcaster) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		delete(b.subs, s)
		close(s.gone)
	}
}

func (b *broadcaster) stats() (clients int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs), b.dropped
}

// sseEvent formats one server-sent event; data must be one line (JSON).
func sseEvent(id, event string, data []byte) []byte {
	var out []byte
	if id != "" {
		out = fmt.Appendf(out, "id: %s\n", id)
	}
	out = fmt.Appendf(out, "event: %s\ndata: %s\n\n", event, data)
	return out
}
