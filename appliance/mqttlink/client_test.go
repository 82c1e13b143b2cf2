package mqttlink

import (
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/config"
)

func TestBackoffDoublesToMaxWithJitter(t *testing.T) {
	b := backoff{b: config.Backoff{Min: time.Second, Max: 10 * time.Second}}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if got := b.next(); got != w*time.Second {
			t.Fatalf("attempt %d: %v, want %v", i, got, w*time.Second)
		}
	}
	b.reset()
	if got := b.next(); got != time.Second {
		t.Fatalf("after reset: %v", got)
	}

	j := backoff{b: config.Backoff{Min: time.Second, Max: time.Second, Jitter: 0.2}}
	for range 1000 {
		if d := j.next(); d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("jittered delay %v outside ±20%%", d)
		}
	}
}

func TestNewRejectsWhatCannotWork(t *testing.T) {
	ob, app := newOutbox(), newFakeApp()
	if _, err := New(Options{Line: "l"}, ob, app); err == nil {
		t.Error("no broker accepted")
	}
	if _, err := New(Options{MQTT: config.MQTT{Broker: "tcp://h:1883"}}, ob, app); err == nil {
		t.Error("no line accepted")
	}
	if _, err := New(Options{Line: "l", MQTT: config.MQTT{Broker: "ssl://h:8883", TLS: config.ClientTLS{CA: "does-not-exist.pem"}}}, ob, app); err == nil {
		t.Error("missing CA file accepted")
	}
	l, err := New(Options{Line: "l", MQTT: config.MQTT{Broker: "tcp://h:1883"}}, ob, app)
	if err != nil || l.clientID != "linesight-l" || l.o.Window != DefaultWindow {
		t.Errorf("defaults: %+v, %v", l, err)
	}
}
