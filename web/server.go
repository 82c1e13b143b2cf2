// Package web serves the appliance over HTTP with Echo: the JSON API under
// /api/v1 (docs/api.md), live frames and verdicts, the dashboard's files,
// health and Prometheus metrics, with local users and sessions.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/linesight/linesight/appliance/trigger"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/health"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

// Appliance is what the web server needs of the running appliance.
type Appliance interface {
	// Status is any JSON-encodable snapshot of the appliance.
	Status() any
	// State is "ready" when inspecting.
	State() string
	// Trigger serves a decoded trigger that arrived at arrived: by the
	// PLC's time when it gives one (t.At), else by its arrival.
	Trigger(camera string, t trigger.Trigger, arrived time.Time) error
	// System is the health summary behind /system and the alarms.
	System() System
	// WriteMetrics adds the appliance's metric families.
	WriteMetrics(p *Prom)
}

// Classes is the defect-class file and the appliance's use of it.
type Classes interface {
	// Path is the defect-class file.
	Path() string
	// Prepare builds each camera's scorer for a parsed file without
	// installing it; it fails while the model is not loaded.
	Prepare(f *defects.File) (inspect.Scorers, error)
	// Reload makes the appliance read the file again.
	Reload() error
}

// Recipes is the appliance's active recipe and how to change it.
type Recipes interface {
	Recipe() string
	Recipes() []string
	SetRecipe(name, by string) error
}

// Options configure the server.
type Options struct {
	App     Appliance       // required
	Store   *users.Store    // required: users and the audit log
	Classes Classes         // nil: the class endpoints answer 503
	History History         // nil: history and statistics answer 503
	Golden  *golden.Manager // nil: the golden-sample endpoints answer 503
	Recipes Recipes         // nil: the recipe endpoints answer 503
	// Reports is the folder of the shift reports (shiftreport); empty:
	// the report endpoints answer 503.
	Reports string
	// Alarms is the appliance's alarm monitor, which the appliance runs;
	// nil: the server makes one of App.System and runs it (no journal).
	Alarms *health.Monitor
	// ShiftStarts are the minutes after midnight the shifts begin, in
	// order (config.ShiftStarts); nil: 06:00, 14:00 and 22:00.
	ShiftStarts []int
	// Firmware installs firmware updates from the System page; nil: its
	// endpoints answer 503 (a box without RAUC).
	Firmware Firmware
	Live     *Live // the live sink; nil makes one (add it to the app with AddSink)
	Kiosk    bool  // live views without login
	TLS      bool  // cookies are Secure
	UI       fs.FS // the dashboard's files; nil serves a placeholder
	Log      *slog.Logger
	Now      func() time.Time
	// LoginLimit failed logins of one account from one address per
	// LoginWindow (default 5 per minute); LoginAddressLimit failed logins
	// from one address, all accounts together (default twice LoginLimit).
	LoginLimit        int
	LoginAddressLimit int
	LoginWindow       time.Duration
	// AlarmEvery is how often alarm conditions are checked (default 2 s).
	AlarmEvery time.Duration
	// InitialPasswordFile holds the first admin's generated password; it
	// is removed once no account must change its password any more.
	InitialPasswordFile string
	// MaxStreams caps the live streams (MJPEG and verdict events) open at
	// once (default 32), MaxCameraStreams those of one camera (default 8).
	MaxStreams       int
	MaxCameraStreams int
}

// Server is the web server's handler and the goroutines it owns.
type Server struct {
	opts     Options
	e        *echo.Echo
	store    *users.Store
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	limiter  *loginLimiter
	live     *Live
	streams  *streamSlots
	alarms   *health.Monitor
	// ownAlarms: the server made its monitor and evaluates it (Run).
	ownAlarms bool
	classMu   sync.Mutex // one save or trial at a time
}

// Body limits: small for everything but the defect-class editor.
const (
	maxBody      = 16 << 10
	maxClassBody = 1 << 20
)

// New builds the server.
func New(o Options) (*Server, error) {
	if o.App == nil || o.Store == nil {
		return nil, errors.New("web: need the appliance and a store")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LoginLimit <= 0 {
		o.LoginLimit = 5
	}
	if o.LoginAddressLimit <= 0 {
		o.LoginAddressLimit = 2 * o.LoginLimit
	}
	if o.LoginWindow <= 0 {
		o.LoginWindow = time.Minute
	}
	if o.AlarmEvery <= 0 {
		o.AlarmEvery = 2 * time.Second
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 32
	}
	if o.MaxCameraStreams <= 0 {
		o.MaxCameraStreams = 8
	}
	if o.Live == nil {
		o.Live = NewLive(LiveOptions{})
	}
	if len(o.ShiftStarts) == 0 {
		o.ShiftStarts = defaultShiftStarts
	}
	s := &Server{
		opts: o, store: o.Store, log: o.Log, now: o.Now, live: o.Live,
		sessions: newSessions(o.Now), limiter: newLoginLimiter(o.LoginLimit, o.LoginAddressLimit, o.LoginWindow, o.Now),
		streams: newStreamSlots(o.MaxStreams, o.MaxCameraStreams), alarms: o.Alarms,
	}
	if s.alarms == nil {
		s.alarms, s.ownAlarms = health.NewMonitor(o.App.System, nil, o.Now, o.Log), true
	}
	s.alarms.OnChange(s.publishAlarms)
	s.e = s.routes()
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Live is the sink to add to the appliance for the live views.
func (s *Server) Live() *Live { return s.live }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The appliance is reached directly: forwarded headers are not trusted,
	// so the login limit cannot be dodged by inventing addresses.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.recoverPanics())
	e.Use(damagedJournal)
	e.Use(securityHeaders)

	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", func(c echo.Context) error {
		if st := s.opts.App.State(); st != "ready" {
			return c.String(http.StatusServiceUnavailable, st+"\n")
		}
		if d := s.opts.App.System().Degraded; len(d) > 0 {
			return c.String(http.StatusServiceUnavailable, "degraded: "+strings.Join(d, "; ")+"\n")
		}
		return c.String(http.StatusOK, "ready\n")
	})
	e.GET("/metrics", s.metrics)
	s.assets(e)

	api := e.Group("/api/v1")
	api.POST("/auth/login", s.login, limitBody(maxBody))
	api.POST("/auth/logout", s.logout, s.guard(levelAccount))
	api.GET("/auth/me", s.me)
	api.POST("/auth/password", s.changePassword, limitBody(maxBody), s.guard(levelAccount))

	kiosk := s.guard(levelKiosk)
	api.GET("/status", func(c echo.Context) error { return c.JSON(http.StatusOK, s.opts.App.Status()) }, kiosk)
	api.GET("/system", s.system, kiosk)
	api.GET("/system/update", s.firmwareState, s.guard(levelOperator))
	api.POST("/system/update", s.startFirmwareUpdate, limitBody(maxBody), s.guard(levelEngineer))
	api.GET("/cameras", s.cameras, kiosk)
	api.GET("/cameras/:camera/frame.jpg", s.frameJPEG, kiosk)
	api.GET("/cameras/:camera/live.mjpeg", s.liveMJPEG, kiosk, s.streamSlot(cameraParam))
	api.GET("/verdicts/stream", s.verdictStream, kiosk, s.streamSlot(cameraQuery))
	api.GET("/live/rejects", s.liveRejects, kiosk)
	api.GET("/live/rejects/:file", s.liveRejectJPEG, kiosk)
	api.GET("/shift", s.shift, kiosk)
	api.GET("/alarms", s.listAlarms, kiosk)

	op := s.guard(levelOperator)
	api.POST("/alarms/:id/ack", s.ackAlarm, op)
	api.GET("/alarms/history", s.alarmHistory, op)
	api.GET("/reports", s.listReports, op)
	api.GET("/reports/:file", s.report, op)
	api.POST("/cameras/:camera/trigger", s.trigger, limitBody(maxBody), op)
	api.GET("/stats/yield", s.statsYield, op)
	api.GET("/stats/pareto", s.statsPareto, op)
	api.GET("/stats/latency", s.statsLatency, op)
	api.GET("/history", s.history, op)
	api.GET("/history.csv", s.historyCSV, op)
	api.GET("/history/:id", s.historyRecord, op)
	api.GET("/history/:id/image.jpg", s.historyImage, op)
	api.GET("/history/:id/thumb.jpg", s.historyThumb, op)
	api.GET("/classes", s.getClasses, op)
	api.GET("/audit", s.audit, op)
	api.GET("/classes/:set/distribution", s.classDistribution, op)

	eng := s.guard(levelEngineer)
	api.POST("/classes/try", s.tryClasses, limitBody(maxClassBody), eng)
	api.PUT("/classes", s.saveClasses, limitBody(maxClassBody), eng)
	api.GET("/recipe", s.getRecipe, op)
	api.PUT("/recipe", s.putRecipe, limitBody(maxBody), eng)
	api.PUT("/records/:id/label", s.putLabel, limitBody(maxBody), eng)
	api.DELETE("/records/:id/label", s.deleteLabel, eng)
	s.goldenRoutes(api, op, eng)

	adm := s.guard(levelAdmin)
	api.GET("/users", s.listUsers, adm)
	api.POST("/users", s.addUser, limitBody(maxBody), adm)
	api.PUT("/users/:name", s.updateUser, limitBody(maxBody), adm)
	api.DELETE("/users/:name", s.deleteUser, adm)
	return e
}

// limitBody caps a request body with Echo's BodyLimit, and says the limit
// when a body is over it.
func limitBody(n int64) echo.MiddlewareFunc {
	limit := middleware.BodyLimit(strconv.FormatInt(n, 10))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := limit(next)
		return func(c echo.Context) error {
			err := h(c)
			if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", n))
			}
			return err
		}
	}
}

// recoverPanics is Echo's Recover: a handler's panic becomes a 500 and a
// log line instead of a dead connection.
func (s *Server) recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, _ []byte) error {
			s.log.Error("web handler panicked", "path", c.Path(), "panic", err)
			return echo.NewHTTPError(http.StatusInternalServerError, "internal error")
		},
	})
}

// damagedJournal answers a query on a damaged journal 503 with what is
// wrong, not a bare 500.
func damagedJournal(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if errors.Is(err, journal.ErrDamaged) {
			return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
		}
		return err
	}
}

// securityHeaders is Echo's Secure middleware: no sniffing, no framing,
// no referrer to other sites, and scripts, styles and images from the
// appliance alone.
var securityHeaders = middleware.SecureWithConfig(middleware.SecureConfig{
	ContentTypeNosniff:    "nosniff",
	XFrameOptions:         "DENY",
	ReferrerPolicy:        "same-origin",
	ContentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'",
})

// Run checks alarm conditions until ctx ends.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(s.opts.AlarmEvery)
	defer tick.Stop()
	for {
		s.checkAlarms()
		select {
		case <-ctx.Done():
			s.live.closeStreams()
			return
		case <-tick.C:
		}
	}
}

// Serve listens on addr until ctx ends, then shuts down gracefully. With a
// certificate and key it serves HTTPS only. ready is told the bound address
// (useful with port 0).
func Serve(ctx context.Context, addr string, h http.Handler, certFile, keyFile string, log *slog.Logger, ready func(net.Addr)) error {
	var tlsCfg *tls.Config
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("load web certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return ServeTLSConfig(ctx, addr, h, tlsCfg, log, ready)
}

// ServeTLSConfig listens on addr (with TLS when tlsCfg is set) until ctx
// ends, then shuts down, letting requests in progress finish for a few
// seconds. Requests inherit ctx, so long-lived streams end with the server.
func ServeTLSConfig(ctx context.Context, addr string, h http.Handler, tlsCfg *tls.Config, log *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return ServeListener(ctx, ln, h, Timeouts{}, log)
}

// Timeouts bound how long a client may hold a connection without finishing
// what it sends: a client that trickles its request or idles between
// requests is cut off, so slow clients cannot pile up connections. Zero
// fields take the defaults.
type Timeouts struct {
	// ReadHeader bounds reading the request line and headers (10 s).
	ReadHeader time.Duration
	// Read bounds reading the whole request, body included (30 s). It ends
	// with the body (net/http clears it then), so a response may take
	// longer: a live stream runs as long as its client reads it.
	Read time.Duration
	// Idle bounds a kept-alive connection's wait for its next request (60 s).
	Idle time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.ReadHeader <= 0 {
		t.ReadHeader = 10 * time.Second
	}
	if t.Read <= 0 {
		t.Read = 30 * time.Second
	}
	if t.Idle <= 0 {
		t.Idle = time.Minute
	}
	return t
}

// ServeListener serves h on ln with the timeouts until ctx ends, then shuts
// down as ServeTLSConfig does.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	addr := ln.Addr().String()
	t = t.withDefaults()
	srv := &http.Server{Handler: h,
		ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, IdleTimeout: t.Idle,
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("HTTP server did not shut down cleanly", "addr", addr, "err", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
