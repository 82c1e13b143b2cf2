package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/health"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/appliance/modbuslink"
	"github.com/linesight/linesight/appliance/mqttlink"
	"github.com/linesight/linesight/appliance/opcualink"
	"github.com/linesight/linesight/appliance/sdnotify"
	"github.com/linesight/linesight/appliance/shiftreport"
	"github.com/linesight/linesight/appliance/update"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/pipeline/inspect"
	"github.com/linesight/linesight/web"
	"github.com/linesight/linesight/web/ui"
)

// onAppliance, when set (by tests), sees the appliance before it runs.
var onAppliance func(*app.App)

// uiFiles are the dashboard's files.
var uiFiles fs.FS = ui.FS

func runAppliance(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("run", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("need --config FILE")
	}
	cfg, err := config.LoadAppliance(*cfgPath)
	if err != nil {
		return err
	}
	log := logger(stdio)
	a := app.New(cfg, log)
	if onAppliance != nil {
		onAppliance(a)
	}
	// systemd learns when the model is warm and, from the inspection loop's
	// progress, whether the loop is alive (its watchdog).
	notifyCtx, stopNotify := context.WithCancel(ctx)
	notified := make(chan struct{})
	defer func() { stopNotify(); <-notified }()
	go func() {
		defer close(notified)
		if err := sdnotify.Run(notifyCtx, a, log); err != nil {
			log.Error("no systemd notifications", "err", err)
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	j, err := app.OpenJournal(cfg, log)
	if err != nil {
		return err
	}
	// The journal closes after Run has drained the sinks.
	defer j.Close()
	a.AddSink(j, inspect.SinkOptions{Lossless: true})
	goldenMgr, closeGolden, err := app.OpenGolden(cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer closeGolden()
	a.UseGolden(goldenMgr)

	link, err := app.NewMQTT(a, j, Version)
	if err != nil {
		return err
	}

	// The dashboard serves until the appliance stops, or fails to start: a
	// start-up failure must end the process (non-zero, for a supervisor to
	// restart it), not leave a dashboard up over nothing.
	webCtx, stopWeb := context.WithCancel(ctx)
	defer stopWeb()
	var group sync.WaitGroup
	webErr := make(chan error, 1)
	// The status shows the journal and the link (a nil *mqttlink.Link
	// would not be a nil Broker).
	a.Version, a.Journal = Version, j
	if link != nil {
		a.Broker = link
	}
	local := localapi.Backend{Journal: j, Golden: goldenMgr, Recipes: a,
		Health: func() update.Health { return app.UpdateHealth(a) }}
	// The alarms are the appliance's, dashboard or not: each raise, clear
	// and acknowledgement goes to the journal.
	alarms := health.NewMonitor(func() health.System { return a.Status().System() }, j.AddAlarmEvent, nil, log)
	group.Add(1)
	go func() { defer group.Done(); alarms.Run(webCtx, 2*time.Second) }()
	// Each shift's report when it ends, from the journal, to the data
	// directory and the PLC link.
	shifts, err := config.ShiftStarts(cfg.Shifts)
	if err != nil {
		return fmt.Errorf("%s: shifts: %w", cfg.File, err)
	}
	reports := &shiftreport.Writer{Dir: filepath.Join(cfg.DataDir, shiftreport.Folder), Source: j, Line: cfg.Line, Starts: shifts, Log: log}
	if link != nil {
		reports.Publish = func(_ shiftreport.Report, data []byte) { link.SetShiftReport(data) }
	}
	group.Add(1)
	go func() { defer group.Done(); reports.Run(webCtx) }()
	if cfg.Web.Listen != "" {
		store, srv, err := newWebServer(cfg, a, j, link, goldenMgr, alarms, log, stdio.Err)
		if err != nil {
			return err
		}
		defer store.Close()
		local.Users, local.UserChanged = store, srv.EndSessions
		a.AddSink(srv.Live(), srv.Live().SinkOptions())
		group.Add(1)
		go func() { defer group.Done(); srv.Run(webCtx) }()
		go func() {
			scheme := "http"
			if cfg.Web.TLS.Cert != "" {
				scheme = "https"
			}
			webErr <- web.Serve(webCtx, cfg.Web.Listen, srv, cfg.Web.TLS.Cert, cfg.Web.TLS.Key, log, func(addr net.Addr) {
				log.Info("web server listening", "url", scheme+"://"+addr.String()+"/")
			})
		}()
	} else {
		webErr <- nil
	}
	// The journal and user commands go through the appliance while it holds
	// their files. The line runs without it if it cannot start.
	if ls, err := localapi.Start(cfg.DataDir, local, log); err != nil {
		log.Error("no local API: journal export and stats and user add cannot run until the appliance stops", "err", err)
	} else {
		defer ls.Close()
	}
	// The PLC protocols beside MQTT read the board of last verdicts; a
	// configured one that cannot listen stops the start, as the dashboard
	// does: the PLC would otherwise wait for answers that never come.
	if cfg.Modbus.Listen != "" {
		mb := modbuslink.New(modbuslink.Options{Listen: cfg.Modbus.Listen, UnitID: uint8(cfg.Modbus.UnitID),
			MaxClients: uint(cfg.Modbus.MaxClients), IdleTimeout: cfg.Modbus.IdleTimeout, Log: log}, a.Board(), a)
		if err := mb.Start(); err != nil {
			return err
		}
		defer mb.Stop()
	}
	if cfg.OPCUA.Listen != "" {
		ua := opcualink.New(opcualink.Options{Listen: cfg.OPCUA.Listen, Host: cfg.OPCUA.Host, Line: cfg.Line, Methods: cfg.OPCUA.Methods,
			MaxConnections: cfg.OPCUA.MaxConnections, HandshakeTimeout: cfg.OPCUA.HandshakeTimeout, Log: log}, a.Board(), a)
		if err := ua.Start(ctx); err != nil {
			return err
		}
		defer ua.Stop()
	}
	// The PLC link publishes from the journal's outbox. It stops after the
	// loop has drained into the journal and the journal's last flush, so the
	// last verdicts go out before the offline status.
	mqttCtx, stopMQTT := context.WithCancel(context.Background())
	mqttErr := make(chan error, 1)
	if link != nil {
		go func() { mqttErr <- link.Run(mqttCtx) }()
	} else {
		mqttErr <- nil
	}

	runErr := a.Run(ctx)
	if runErr != nil {
		log.Error("the appliance stopped on an error; exiting", "err", runErr)
	}
	stopWeb()
	// The loop has drained into the journal: commit its last records now,
	// so the link publishes them before it goes offline.
	syncCtx, cancelSync := context.WithTimeout(context.Background(), 10*time.Second)
	if err := j.Sync(syncCtx); err != nil {
		log.Error("journal: last verdicts not committed before the PLC link stops", "err", err)
	}
	cancelSync()
	stopMQTT()
	if err := <-mqttErr; err != nil && runErr == nil {
		runErr = fmt.Errorf("mqtt: %w", err)
	}
	if err := <-webErr; err != nil && runErr == nil {
		runErr = fmt.Errorf("web server: %w", err)
	}
	group.Wait()
	return runErr
}

// newWebServer opens the users' store (creating the first admin on first
// start) and builds the web server on the appliance and its journal.
func newWebServer(cfg *config.Config, a *app.App, j *journal.Journal, link *mqttlink.Link, goldenMgr *golden.Manager, alarms *health.Monitor, log *slog.Logger, stderr io.Writer) (*users.Store, *web.Server, error) {
	store, err := users.OpenStore(filepath.Join(cfg.DataDir, users.StoreFile))
	if err != nil {
		return nil, nil, err
	}
	password, passwordFile, err := users.PrepareFirstAdmin(store, cfg.DataDir, time.Now())
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if password != "" {
		// Shown once, framed so it stands out from the log; only the hash
		// and the owner-only file keep it.
		fmt.Fprint(stderr, firstAdminBox("admin", password, passwordFile))
		log.Warn("initial admin created; it must change its password at the first login", "user", "admin", "password_file", passwordFile)
	}
	// Recipe changes from every side (dashboard, PLC, command line) land
	// in the audit log.
	a.Audit = func(user, action, detail string) error {
		return store.Audit(users.AuditEntry{At: time.Now().UTC(), User: user, Action: action, Detail: detail})
	}
	adapter := app.Web{App: a}
	firmware := &update.Runner{Installer: &update.Installer{History: update.OpenHistory(cfg.DataDir),
		DownloadDir: filepath.Join(cfg.DataDir, update.DownloadFolder)}, Log: log,
		Audit: func(e users.AuditEntry) {
			if err := store.Audit(e); err != nil {
				log.Error("audit log: firmware update not recorded", "err", err)
			}
		}}
	shifts, err := config.ShiftStarts(cfg.Shifts)
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("%s: shifts: %w", cfg.File, err)
	}
	srv, err := web.New(web.Options{Golden: goldenMgr, Firmware: firmware, ShiftStarts: shifts, Recipes: a, Alarms: alarms,
		Reports: filepath.Join(cfg.DataDir, shiftreport.Folder),
		App:     adapter, Classes: adapter, History: j, Store: store,
		Kiosk: cfg.Web.Kiosk, TLS: cfg.Web.TLS.Cert != "", UI: uiFiles, Log: log,
		InitialPasswordFile: filepath.Join(cfg.DataDir, users.InitialPasswordFile),
		MaxStreams:          cfg.Web.MaxStreams, MaxCameraStreams: cfg.Web.MaxStreamsPerCamera,
	})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, srv, nil
}

// firstAdminBox frames the first admin's credentials for the console.
func firstAdminBox(user, password, file string) string {
	lines := []string{
		"LineSight: first start. A dashboard admin was created:",
		"",
		"    user:      " + user,
		"    password:  " + password,
		"",
		"The password is also in " + file,
		"(readable by its owner only) until it is changed. Log in and",
		"set a new one: nothing else is allowed before that.",
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l))
	}
	rule := "+" + strings.Repeat("-", width+4) + "+\n"
	var b strings.Builder
	b.WriteString("\n" + rule)
	for _, l := range lines {
		fmt.Fprintf(&b, "|  %-*s  |\n", width, l)
	}
	b.WriteString(rule + "\n")
	return b.String()
}
