package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/web"
)

// webApp adapts the appliance to the web server's view of it.
type webApp struct{ *app.App }

func (w webApp) Status() any { return w.App.Status() }

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

	webErr := make(chan error, 1)
	if cfg.Web.Listen != "" {
		go func() {
			webErr <- web.Serve(ctx, cfg.Web.Listen, web.New(webApp{a}), log, func(addr net.Addr) {
				log.Info("web server listening", "url", "http://"+addr.String()+"/api/v1/status")
			})
		}()
	} else {
		webErr <- nil
	}
	runErr := a.Run(ctx)
	if err := <-webErr; err != nil && runErr == nil {
		runErr = fmt.Errorf("web server: %w", err)
	}
	return runErr
}

func triggerPart(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("trigger", stdio)
	url := fs.String("url", "http://127.0.0.1:8080", "the running appliance's web address")
	camera := fs.String("camera", "", "camera id")
	partID := fs.String("part-id", "", "the part's id, echoed in its verdict")
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
