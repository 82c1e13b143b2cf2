package mqttlink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/linesight/linesight/appliance/trigger"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/defects"
)

// memOutbox is the journal's outbox in memory. It outlives the links that
// use it, as the journal outlives a restart of the appliance.
type memOutbox struct {
	mu      sync.Mutex
	pending []Entry
	lastID  uint64
	notify  chan struct{}
	acked   []ackRecord
	ackErr  func(id uint64) error // optional fault injection
	onAck   chan ackRecord        // optional, for benchmarks
}

type ackRecord struct {
	e  Entry
	at time.Time
}

func newOutbox() *memOutbox { return &memOutbox{notify: make(chan struct{}, 1)} }

func (o *memOutbox) Append(v defects.Verdict) Entry {
	o.mu.Lock()
	o.lastID++
	e := Entry{ID: o.lastID, Verdict: v, QueuedAt: time.Now()}
	o.pending = append(o.pending, e)
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return e
}

func (o *memOutbox) Pending(after uint64, limit int) ([]Entry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.pending), func(i int) bool { return o.pending[i].ID > after })
	j := min(i+limit, len(o.pending))
	return append([]Entry(nil), o.pending[i:j]...), nil
}

func (o *memOutbox) Ack(id uint64, at time.Time) error {
	if o.ackErr != nil {
		if err := o.ackErr(id); err != nil {
			return err
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, e := range o.pending {
		if e.ID == id {
			o.pending = append(o.pending[:i], o.pending[i+1:]...)
			r := ackRecord{e, at}
			o.acked = append(o.acked, r)
			if o.onAck != nil {
				o.onAck <- r
			}
			return nil
		}
	}
	return fmt.Errorf("outbox: no entry %d", id)
}

func (o *memOutbox) OutboxNotify() <-chan struct{} { return o.notify }

func (o *memOutbox) OutboxLen() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// fakeApp records triggers and reports a settable snapshot.
type fakeApp struct {
	mu       sync.Mutex
	triggers []string // camera/part
	refuse   error
	hold     chan struct{} // when set, Trigger waits until it is closed
	snap     Snapshot
	changed  chan struct{}
	recipeBy []string // who changed the recipe, in order
}

func newFakeApp() *fakeApp {
	return &fakeApp{changed: make(chan struct{}, 1), snap: Snapshot{
		State: "ready", Warmup: WarmupReady, StartedAt: time.Now(), DefectsHash: "sha256:defects",
		Model: ModelInfo{Digest: "sha256:model", Variant: "fp32", Provider: "cpu"},
	}}
}

func (a *fakeApp) Trigger(camera string, t trigger.Trigger, _ time.Time) error {
	partID := t.PartID
	a.mu.Lock()
	hold := a.hold
	a.mu.Unlock()
	if hold != nil {
		<-hold
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refuse != nil {
		return a.refuse
	}
	a.triggers = append(a.triggers, camera+"/"+partID)
	select {
	case a.changed <- struct{}{}:
	default:
	}
	return nil
}

func (a *fakeApp) SetRecipe(name, by string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.snap.Recipes, name) {
		return fmt.Errorf("no recipe %q", name)
	}
	a.snap.Recipe = name
	a.recipeBy = append(a.recipeBy, by)
	return nil
}

func (a *fakeApp) Snapshot() Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.snap
}

func (a *fakeApp) set(f func(*Snapshot)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.snap)
}

func (a *fakeApp) triggered() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.triggers...)
}

func testOptions(brokerURL string) Options {
	return Options{
		Line:       "line1",
		Cameras:    []CameraInfo{{ID: "cam0", Mode: "triggered"}, {ID: "cam1", Mode: "freerun"}},
		MQTT:       config.MQTT{Broker: brokerURL, ClientID: "linesight-test", Keepalive: 5 * time.Second, Reconnect: config.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond, Jitter: 0.2}, StatsInterval: time.Hour},
		Version:    "test",
		ConfigHash: "sha256:config",
		StatusPoll: 20 * time.Millisecond,
		Log:        testLogger(),
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("MQTTLINK_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// runLink runs a link until the returned stop is called (or the test ends).
func runLink(t testing.TB, o Options, ob Outbox, app Appliance) (l *Link, stop func()) {
	t.Helper()
	l, err := New(o, ob, app)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitFor):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return l, stop
}

func verdict(camera string, seq uint64, outcome defects.Outcome) defects.Verdict {
	now := time.Now()
	v := defects.Verdict{
		Camera: camera, Seq: seq, PartID: fmt.Sprintf("P%d", seq), CapturedAt: now.Add(-30 * time.Millisecond), InferredAt: now,
		Outcome: outcome, ModelDigest: "sha256:model", ConfigHash: "sha256:defects", Latency: 30 * time.Millisecond,
	}
	switch outcome {
	case defects.Pass:
		v.Action, v.Class, v.Confidence = defects.ActionPass, "good", 0.97
		v.Scores = []defects.ClassScore{{Class: "good", Score: 0.97}, {Class: "scratch", Score: 0.03}}
	case defects.Fail:
		v.Action, v.Class, v.Confidence = defects.ActionReject, "scratch", 0.91
		v.Scores = []defects.ClassScore{{Class: "good", Score: 0.09}, {Class: "scratch", Score: 0.91}}
	case defects.Uncertain:
		v.Action, v.Class, v.Confidence = defects.ActionEscalate, "good", 0.55
		v.Scores = []defects.ClassScore{{Class: "good", Score: 0.55}, {Class: "scratch", Score: 0.45}}
	case defects.Missed:
		v.Action, v.Reason = defects.ActionReject, "no frame within the trigger timeout"
	}
	return v
}

// subscriber is a real paho client with a persistent session that records
// every message it receives, in arrival order.
type subscriber struct {
	t      testing.TB
	client paho.Client
	mu     sync.Mutex
	msgs   []received
	signal chan struct{}
}

type received struct {
	topic    string
	payload  []byte
	retained bool
	// dup is the broker re-sending to this subscriber after its own
	// connection broke; those repeats are the broker's, not the link's.
	dup bool
}

func subscribe(t testing.TB, brokerURL, clientID, filter string, tlsConf *tls.Config) *subscriber {
	t.Helper()
	s := &subscriber{t: t, signal: make(chan struct{}, 1)}
	record := func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, received{m.Topic(), append([]byte(nil), m.Payload()...), m.Retained(), m.Duplicate()})
		s.mu.Unlock()
		select {
		case s.signal <- struct{}{}:
		default:
		}
	}
	o := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).
		SetCleanSession(false).SetOrderMatters(true).SetAutoReconnect(true).
		SetMaxReconnectInterval(100 * time.Millisecond).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetDefaultPublishHandler(record)
	if tlsConf != nil {
		o.SetTLSConfig(tlsConf)
	}
	s.client = paho.NewClient(o)
	if tok := s.client.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	if tok := s.client.Subscribe(filter, 1, record); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(0) })
	return s
}

func (s *subscriber) publish(topic string, payload []byte) {
	s.t.Helper()
	if tok := s.client.Publish(topic, 1, false, payload); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		s.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// on returns the messages so far on topics ending in suffix.
func (s *subscriber) on(suffix string) []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []received
	for _, m := range s.msgs {
		if strings.HasSuffix(m.topic, suffix) {
			out = append(out, m)
		}
	}
	return out
}

// await waits until cond holds for the messages on topics ending in suffix.
func (s *subscriber) await(what, suffix string, cond func([]received) bool) []received {
	s.t.Helper()
	deadline := time.After(waitFor)
	for {
		if got := s.on(suffix); cond(got) {
			return got
		}
		select {
		case <-s.signal:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("timed out waiting for %s; have %d messages on %s", what, len(s.on(suffix)), suffix)
		}
	}
}

// verdictIDs decodes the ids of verdict messages, in arrival order.
func verdictIDs(t testing.TB, msgs []received) []uint64 {
	t.Helper()
	ids := make([]uint64, len(msgs))
	for i, m := range msgs {
		var v VerdictMessage
		if err := json.Unmarshal(m.payload, &v); err != nil {
			t.Fatalf("verdict payload %s: %v", m.payload, err)
		}
		ids[i] = v.ID
	}
	return ids
}

// distinct reports how many different ids there are.
func distinct(ids []uint64) int {
	seen := map[uint64]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	return len(seen)
}

// checkInOrder fails unless ids, with redeliveries removed, is exactly
// 1..n: nothing missing, nothing ahead of its turn. A redelivery is an id
// seen before, which QoS 1 allows after a lost PUBACK; it returns how many.
func checkInOrder(t testing.TB, ids []uint64, n int) (dups int) {
	t.Helper()
	var want uint64 = 1
	for _, id := range ids {
		switch {
		case id == want:
			want++
		case id < want:
			dups++
		default:
			t.Fatalf("verdict %d arrived before %d (missing or reordered): %v", id, want, ids)
		}
	}
	if want != uint64(n)+1 {
		t.Fatalf("got verdicts up to %d, want %d: %v", want-1, n, ids)
	}
	return dups
}

// republished counts the messages the link sent again: repeats of an id
// without the DUP flag. The broker's own re-sends to a subscriber whose
// connection broke carry DUP and are not the link's.
func republished(t testing.TB, msgs []received) int {
	seen, n := map[uint64]bool{}, 0
	for i, id := range verdictIDs(t, msgs) {
		if seen[id] && !msgs[i].dup {
			n++
		}
		seen[id] = true
	}
	return n
}

// awaitConnected waits until the link holds a connection.
func awaitConnected(t testing.TB, l *Link) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !l.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("link did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitEmpty waits until every entry of the outbox is acknowledged.
func awaitEmpty(t testing.TB, ob *memOutbox) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for ob.OutboxLen() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d", ob.OutboxLen())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errRefused = errors.New("trigger: the appliance is starting")
