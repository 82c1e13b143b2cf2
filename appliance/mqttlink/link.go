package mqttlink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/config"
)

// Defaults of Options.
const (
	DefaultWindow          = 1
	DefaultLateAfter       = 2 * time.Second
	DefaultStatusPoll      = time.Second
	DefaultShutdownTimeout = 3 * time.Second
)

// Options configure a Link.
type Options struct {
	Line    string
	Cameras []CameraInfo
	MQTT    config.MQTT
	// Version is the appliance's version and ConfigHash its configuration's
	// hash, both published in the status message.
	Version    string
	ConfigHash string
	// Window is how many verdicts may wait for their PUBACK at once. They
	// go out in order on one connection, and are acknowledged in the
	// journal in order, so order holds for any window; a lost connection
	// re-sends at most Window verdicts.
	Window int
	// LateAfter marks a verdict late when it is published longer than this
	// after inference.
	LateAfter time.Duration
	// StatusPoll is how often the appliance's state is checked for a
	// change worth a new status message.
	StatusPoll time.Duration
	// ShutdownTimeout bounds, when Run stops, the publishing of what the
	// outbox still holds (and the wait for its PUBACKs), and then the
	// offline message.
	ShutdownTimeout time.Duration
	Log             *slog.Logger
}

// Link publishes an appliance's verdicts, status and stats, and delivers
// its triggers. Run it once; a new Link on the same outbox resumes where
// the old one stopped.
type Link struct {
	o        Options
	topics   Topics
	outbox   Outbox
	app      Appliance
	log      *slog.Logger
	tls      *tls.Config
	clientID string
	cameras  map[string]bool

	connected atomic.Bool
	published atomic.Uint64

	// Owned by Run's goroutine.
	acked      uint64 // the last entry acknowledged in the journal
	startedAt  time.Time
	stats      map[string]*cameraCounts
	lastStatus string
	lastAlarms string
	// lastShiftReport is the report published last (Run's goroutine);
	// shiftReport the last handed over (SetShiftReport).
	lastShiftReport *[]byte
	shiftReport     atomic.Pointer[[]byte]
}

// New prepares a link; it reads the TLS files now, so a bad path is an
// error before anything runs.
func New(o Options, outbox Outbox, app Appliance) (*Link, error) {
	if o.MQTT.Broker == "" {
		return nil, errors.New("mqtt: no broker configured")
	}
	if o.Line == "" {
		return nil, errors.New("mqtt: no line name for the topics")
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.LateAfter <= 0 {
		o.LateAfter = DefaultLateAfter
	}
	if o.StatusPoll <= 0 {
		o.StatusPoll = DefaultStatusPoll
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.MQTT.StatsInterval <= 0 {
		o.MQTT.StatsInterval = config.DefaultStatsInterval
	}
	if o.MQTT.Keepalive <= 0 {
		o.MQTT.Keepalive = config.DefaultKeepalive
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	tlsConf, err := tlsConfig(o.MQTT.TLS, o.MQTT.Broker)
	if err != nil {
		return nil, err
	}
	l := &Link{
		o: o, topics: Topics{Line: o.Line}, outbox: outbox, app: app, tls: tlsConf,
		log: o.Log.With("component", "mqtt", "broker", o.MQTT.Broker), clientID: o.MQTT.ClientID,
		cameras: map[string]bool{}, stats: map[string]*cameraCounts{},
	}
	if l.clientID == "" {
		l.clientID = "linesight-" + o.Line
	}
	for _, c := range o.Cameras {
		l.cameras[c.ID] = true
	}
	return l, nil
}

// Connected says whether the link holds a broker connection now.
func (l *Link) Connected() bool { return l.connected.Load() }

// Published is how many verdicts the broker has acknowledged since Run
// started.
func (l *Link) Published() uint64 { return l.published.Load() }

// Run connects, retrying with backoff, and serves each connection until it
// is lost or ctx ends. On ctx's end it publishes what the outbox still
// holds and waits for the PUBACKs (up to ShutdownTimeout), publishes the
// offline status and disconnects. It returns nil on a clean
// stop.
func (l *Link) Run(ctx context.Context) error {
	l.startedAt = time.Now()
	bo := backoff{b: l.o.MQTT.Reconnect}
	for {
		s, err := l.connect(ctx)
		if err == nil {
			bo.reset()
			err = l.serve(ctx, s)
			l.connected.Store(false)
			s.close(ctx.Err() != nil, l)
			if ctx.Err() != nil {
				l.log.Info("mqtt disconnected", "outbox", l.outbox.OutboxLen())
				return nil
			}
			l.log.Warn("mqtt connection lost", "err", err, "outbox", l.outbox.OutboxLen())
		} else if ctx.Err() != nil {
			return nil
		}
		d := bo.next()
		if err != nil && s == nil {
			l.log.Warn("mqtt connect failed", "err", err, "retry_in", d.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
	}
}

// session is one broker connection and what it owns.
type session struct {
	client      paho.Client
	connectedAt time.Time
	lost        chan struct{} // closed when paho reports the connection lost
	lostOnce    sync.Once
	lostErr     error
	triggers    chan inbound
	recipes     chan inbound
	stop        context.CancelFunc
	workers     sync.WaitGroup
}

func (s *session) markLost(err error) {
	s.lostOnce.Do(func() { s.lostErr = err; close(s.lost) })
}

func (l *Link) connect(ctx context.Context) (*session, error) {
	s := &session{lost: make(chan struct{}), triggers: make(chan inbound, triggerQueue), recipes: make(chan inbound, recipeQueue)}
	opts := clientOptions(l.o.MQTT, l.clientID, l.tls, offlineMessage(l.o.Line, time.Now()), l.topics.Status(), s.markLost)
	s.client = paho.NewClient(opts)
	tok := s.client.Connect()
	if err := wait(ctx, tok, nil); err != nil {
		// A connect cancelled midway may still complete: let it settle
		// (bounded by the connect timeout) so no connection is left behind.
		tok.WaitTimeout(connectTimeout + time.Second)
		s.client.Disconnect(0)
		return nil, fmt.Errorf("connect to %s: %w", l.o.MQTT.Broker, err)
	}
	s.connectedAt = time.Now()
	return s, nil
}

// close ends a session: on a clean stop it publishes offline (retained,
// since a disconnect does not fire the will) and disconnects politely.
func (s *session) close(clean bool, l *Link) {
	if s.stop != nil {
		s.stop()
	}
	s.workers.Wait()
	if clean {
		ctx, cancel := context.WithTimeout(context.Background(), l.o.ShutdownTimeout)
		defer cancel()
		if err := wait(ctx, s.client.Publish(l.topics.Status(), 1, true, stoppedMessage(l.o.Line, time.Now(), l.app.Snapshot())), s.lost); err != nil {
			l.log.Warn("mqtt offline status not published; the broker's will covers it", "err", err)
		}
		s.client.Disconnect(250)
		return
	}
	s.client.Disconnect(0)
}

// serve subscribes to triggers, publishes the birth and then publishes the
// outbox, status changes and stats until the connection is lost or ctx
// ends.
func (l *Link) serve(ctx context.Context, s *session) error {
	// Subscribed anew on every connection (the session is clean), and
	// before the birth: a PLC that triggers the moment it sees "online"
	// must not lose that trigger. Triggers arriving now wait in s.triggers.
	if err := wait(ctx, s.client.Subscribe(l.topics.TriggerFilter(), 1, l.onTrigger(s)), s.lost); err != nil {
		return fmt.Errorf("subscribe %s: %w", l.topics.TriggerFilter(), err)
	}
	if err := wait(ctx, s.client.Subscribe(l.topics.RecipeSet(), 1, l.onRecipe(s)), s.lost); err != nil {
		return fmt.Errorf("subscribe %s: %w", l.topics.RecipeSet(), err)
	}
	if err := l.publishStatus(ctx, s, true); err != nil {
		return err
	}
	if err := l.publishAlarms(ctx, s, true); err != nil {
		return err
	}
	if err := l.publishShiftReport(ctx, s, true); err != nil {
		return err
	}
	l.connected.Store(true)
	l.log.Info("mqtt connected", "client_id", l.clientID, "outbox", l.outbox.OutboxLen())
	var workCtx context.Context
	workCtx, s.stop = context.WithCancel(ctx)
	s.workers.Add(1)
	go func() { defer s.workers.Done(); l.serveTriggers(workCtx, s) }()
	s.workers.Add(1)
	go func() { defer s.workers.Done(); l.serveRecipes(workCtx, s) }()

	p := &publisher{l: l, s: s, next: l.acked}
	statsTick := time.NewTicker(l.o.MQTT.StatsInterval)
	defer statsTick.Stop()
	statusTick := time.NewTicker(l.o.StatusPoll)
	defer statusTick.Stop()
	var retry <-chan time.Time
	for {
		if retry == nil {
			if err := p.fill(); err != nil {
				l.log.Error("mqtt: read outbox", "err", err)
				retry = time.After(time.Second)
			}
		}
		select {
		case <-ctx.Done():
			p.drain(l.o.ShutdownTimeout)
			return ctx.Err()
		case <-s.lost:
			return fmt.Errorf("connection lost: %w", s.lostErr)
		case <-p.headDone():
			if err := p.complete(); err != nil {
				return err
			}
		case <-l.outbox.OutboxNotify():
		case <-retry:
			retry = nil
		case <-statsTick.C:
			l.publishStats(s)
		case <-statusTick.C:
			if err := l.publishStatus(ctx, s, false); err != nil {
				return err
			}
			if err := l.publishAlarms(ctx, s, false); err != nil {
				return err
			}
			if err := l.publishShiftReport(ctx, s, false); err != nil {
				return err
			}
		}
	}
}

// publishStatus publishes the retained online status when it changed since
// the last one (always when force is set, as on each connect).
func (l *Link) publishStatus(ctx context.Context, s *session, force bool) error {
	msg := l.statusMessage()
	key := string(mustJSON(msg))
	if !force && key == l.lastStatus {
		return nil
	}
	msg.At = time.Now().UTC()
	if err := wait(ctx, s.client.Publish(l.topics.Status(), 1, true, mustJSON(msg)), s.lost); err != nil {
		return fmt.Errorf("publish status: %w", err)
	}
	l.lastStatus = key
	return nil
}

func (l *Link) statusMessage() StatusMessage {
	snap := l.app.Snapshot()
	m := StatusMessage{
		V: ContractVersion, State: "online", Line: l.o.Line, Version: l.o.Version,
		Model: &snap.Model, ConfigHash: l.o.ConfigHash, DefectsHash: snap.DefectsHash,
		Warmup: snap.Warmup, Error: snap.Error, Cameras: l.o.Cameras, Degraded: snap.Degraded,
		Recipe: snap.Recipe, Recipes: snap.Recipes,
	}
	if !snap.StartedAt.IsZero() {
		t := snap.StartedAt.UTC()
		m.StartedAt = &t
	}
	return m
}

// wait waits for a paho token, the connection's loss or ctx's end.
func wait(ctx context.Context, tok paho.Token, lost <-chan struct{}) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-lost:
		return errors.New("connection lost")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publishAlarms publishes the retained set of process alarms that hold
// when it changed since the last one (always when force is set, as on each
// connect): a PLC or SCADA that subscribes gets the current set at once.
func (l *Link) publishAlarms(ctx context.Context, s *session, force bool) error {
	active := []AlarmMessage{}
	for _, a := range l.app.Snapshot().Alarms {
		active = append(active, AlarmMessage{Kind: a.Kind, Severity: a.Severity, Camera: a.Camera, Message: a.Message})
	}
	key := string(mustJSON(active))
	if !force && key == l.lastAlarms {
		return nil
	}
	msg := AlarmsMessage{V: ContractVersion, Line: l.o.Line, At: time.Now().UTC(), Active: active}
	if err := wait(ctx, s.client.Publish(l.topics.Alarms(), 1, true, mustJSON(msg)), s.lost); err != nil {
		return fmt.Errorf("publish alarms: %w", err)
	}
	l.lastAlarms = key
	return nil
}
