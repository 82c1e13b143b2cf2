package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/mqttlink"
	"github.com/linesight/linesight/pipeline/inspect"
	"github.com/linesight/linesight/web"
	"github.com/linesight/linesight/web/ui"
)

// uiFiles are the dashboard's files.
var uiFiles fs.FS = ui.FS

func runAppliance(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("run", stdio)
	cfgPath := fs.String("config", "", "appliance configuration file")
	if err := parse(fs, args); err != nil {
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
	if cfg.Web.Listen != "" {
		store, srv, err := newWebServer(cfg, a, j, link, log)
		if err != nil {
			return err
		}
		defer store.Close()
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
func newWebServer(cfg *config.Config, a *app.App, j *journal.Journal, link *mqttlink.Link, log *slog.Logger) (*web.Store, *web.Server, error) {
	store, err := web.OpenStore(filepath.Join(cfg.DataDir, web.StoreFile))
	if err != nil {
		return nil, nil, err
	}
	password, err := store.EnsureAdmin(time.Now())
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("create the first admin: %w", err)
	}
	if password != "" {
		// Shown once: only the hash is kept.
		log.Warn("initial admin created; change its password after logging in", "user", "admin", "password", password)
	}
	adapter := app.Web{App: a, Journal: j, Version: Version}
	if link != nil {
		adapter.Broker = link
	}
	srv, err := web.New(web.Options{
		App: adapter, Classes: adapter, History: j, Store: store,
		Kiosk: cfg.Web.Kiosk, TLS: cfg.Web.TLS.Cert != "", UI: uiFiles, Log: log,
	})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, srv, nil
}

func triggerPart(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("trigger", stdio)
	url := fs.String("url", "http://127.0.0.1:8080", "the running appliance's web address")
	camera := fs.String("camera", "", "camera id")
	partID := fs.String("part-id", "", "the part's id, echoed in its verdict")
	user := fs.String("user", "", "dashboard user (operator or higher); the password comes from $LINESIGHT_PASSWORD")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *camera == "" || *partID == "" {
		return fmt.Errorf("need --camera ID and --part-id ID")
	}
	body, _ := json.Marshal(map[string]string{"part_id": *partID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url+"/api/v1/cameras/"+*camera+"/trigger", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if *user != "" {
		req.SetBasicAuth(*user, os.Getenv("LINESIGHT_PASSWORD"))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send trigger: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("trigger refused (%s): %s", resp.Status, bytes.TrimSpace(reply))
	}
	stdio.Out.Write(reply)
	return nil
}
