package app

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/escalation"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/clip"
)

// escalationState is the appliance's side of escalation.
type escalationState struct {
	client *escalation.Client
	files  defectFiles
}

// EscalationStatus counts escalations by how they ended.
type EscalationStatus struct {
	Endpoint    string `json:"endpoint"`
	Sent        uint64 `json:"sent"`
	Remote      uint64 `json:"remote"`
	Timeouts    uint64 `json:"timeouts"`
	Refused     uint64 `json:"refused"`
	Unreachable uint64 `json:"unreachable"`
	Errors      uint64 `json:"errors"`
}

// startEscalation installs the escalation client as the loop's resolver
// when escalation.endpoint is set; call it before the loop runs.
func (a *App) startEscalation() error {
	e := a.Config.Escalation
	if e.Endpoint == "" {
		return nil
	}
	opts := escalation.Options{Endpoint: e.Endpoint, Token: e.Token, Timeout: e.Timeout, JPEGQuality: e.JPEGQuality,
		Defects: a.esc.files.read(a.Config.Defects), Log: a.Log}
	if e.TLS.CA != "" || e.TLS.Cert != "" || e.TLS.InsecureSkipVerify {
		tlsCfg, err := escalation.ClientTLS(e.TLS.CA, e.TLS.Cert, e.TLS.Key, e.TLS.InsecureSkipVerify)
		if err != nil {
			return err
		}
		opts.TLS = tlsCfg
	}
	// Keep the classes in use now, in case the file changes before the
	// first escalation.
	opts.Defects(a.Config.Classes().Hash())
	c, err := escalation.NewClient(opts)
	if err != nil {
		return err
	}
	a.esc.client = c
	a.loop.SetResolver(c)
	a.Log.Info("escalation on: uncertain parts with action escalate go to the server; late or failed answers reject",
		"endpoint", e.Endpoint, "timeout", e.Timeout)
	return nil
}

func (a *App) escalationStatus() *EscalationStatus {
	c := a.esc.client
	if c == nil {
		return nil
	}
	s := &c.Stats
	return &EscalationStatus{Endpoint: a.Config.Escalation.Endpoint, Sent: s.Sent.Value(), Remote: s.Remote.Value(),
		Timeouts: s.Timeouts.Value(), Refused: s.Refused.Value(), Unreachable: s.Unreachable.Value(), Errors: s.Errors.Value()}
}

// defectFiles keeps the defect-class YAML by hash, so an escalation sends
// exactly the classes its verdict was scored with, even after the file
// changed on disk and before a reload took it in.
type defectFiles struct {
	mu     sync.Mutex
	byHash map[string][]byte
}

// keepDefectFiles bounds the versions kept.
const keepDefectFiles = 8

// read returns the lookup the client uses: a known hash, else the file on
// disk when it hashes to what is asked.
func (d *defectFiles) read(path string) func(hash string) ([]byte, error) {
	return func(hash string) ([]byte, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if data, ok := d.byHash[hash]; ok {
			return data, nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := defects.Parse(path, data)
		if err != nil {
			return nil, err
		}
		if f.Hash() != hash {
			return nil, fmt.Errorf("%s now hashes to %s; the verdict's version is gone", path, f.Hash())
		}
		if d.byHash == nil || len(d.byHash) >= keepDefectFiles {
			d.byHash = map[string][]byte{}
		}
		d.byHash[hash] = data
		return data, nil
	}
}

// serveModel adapts an opened model and the prompt cache to the server.
type serveModel struct {
	*clip.Model
	cache *defects.Cache
}

func (m serveModel) Prepare(set *defects.ClassSet) (*defects.Scorer, error) {
	return defects.Prepare(set, m.cache, m.Model, m.Digest, m.LogitScale)
}

// EscalationServer opens the model and the prompt cache a configuration
// names and returns the server `linesight serve` runs, and a function that
// releases them once it has stopped.
func EscalationServer(cfg *config.Config, log *slog.Logger) (*escalation.Server, func(), error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Model.Bundle == "" {
		return nil, nil, fmt.Errorf("%s: model.bundle: missing: the model that answers escalations", cfg.File)
	}
	if len(cfg.Escalation.Token) < config.MinTokenLength {
		return nil, nil, fmt.Errorf("%s: escalation.token: missing: the server requires a shared token of at least %d characters", cfg.File, config.MinTokenLength)
	}
	model, err := OpenModel(cfg.Model, log)
	if err != nil {
		return nil, nil, err
	}
	cache, err := OpenCache(cfg.DataDir)
	if err != nil {
		model.Close()
		return nil, nil, err
	}
	srv := escalation.NewServer(cfg.Escalation.Token, serveModel{model, cache}, log)
	return srv, func() { cache.Close(); model.Close() }, nil
}
