package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/escalation"
	"github.com/linesight/linesight/web"
)

// serveEscalations runs the escalation server: other appliances send it the
// frames their model is unsure about and it answers with its own verdict
// (docs/edge.md).
func serveEscalations(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("serve", stdio)
	cfgPath := fs.String("config", "", "configuration file: model, data_dir and the escalation section")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("need --config FILE")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	log := logger(stdio)
	srv, release, err := app.EscalationServer(cfg, log)
	if err != nil {
		return err
	}
	defer release()
	s := cfg.Escalation.Serve
	scheme := "http"
	var tlsCfg *tls.Config
	if s.TLS.Cert != "" {
		scheme = "https"
		tc, err := escalation.ServerTLS(s.TLS.Cert, s.TLS.Key, s.TLS.ClientCA)
		if err != nil {
			return err
		}
		tlsCfg = tc
	}
	return web.ServeTLSConfig(ctx, s.Listen, srv.Handler(), tlsCfg, log, func(addr net.Addr) {
		log.Info("escalation server listening", "url", scheme+"://"+addr.String()+escalation.Path,
			"mutual_tls", s.TLS.ClientCA != "", "model", cfg.Model.Bundle, "variant", cfg.Model.Variant)
	})
}
