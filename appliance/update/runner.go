package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/linesight/linesight/appliance/users"
)

// ErrInstallRunning is what Runner.Start says while an install runs.
var ErrInstallRunning = errors.New("a firmware update is already being installed")

// RunnerState is the dashboard's view of firmware updates.
type RunnerState struct {
	Running  bool     `json:"running"`
	Source   string   `json:"source,omitempty"`
	By       string   `json:"by,omitempty"`
	Progress Progress `json:"progress"`
	// Last is the outcome of the last install started here, nil before one.
	Last *Entry `json:"last,omitempty"`
	// History is the update history, newest first, at most 10 entries.
	History []Entry `json:"history"`
}

// Runner installs firmware bundles for the dashboard, one at a time, in the
// background, and keeps their progress to show. The command line's `update
// install` uses the Installer directly.
type Runner struct {
	Installer *Installer
	// Audit records the outcome of each install; may be nil.
	Audit func(users.AuditEntry)
	Log   *slog.Logger

	mu    sync.Mutex
	state RunnerState
}

// Start begins installing source (a bundle's path on the box or its
// http(s) URL) for user. It returns ErrInstallRunning while one runs.
func (f *Runner) Start(ctx context.Context, source, user string) error {
	if source == "" {
		return errors.New("name a bundle: its path on the box or an http(s) URL")
	}
	if !strings.HasPrefix(source, "http://") && !strings.HasPrefix(source, "https://") {
		if _, err := os.Stat(source); err != nil {
			return fmt.Errorf("bundle %s: %w", source, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state.Running {
		return fmt.Errorf("%w (%s, started by %s)", ErrInstallRunning, f.state.Source, f.state.By)
	}
	f.state.Running, f.state.Source, f.state.By, f.state.Progress = true, source, user, Progress{Message: "starting"}
	go f.install(context.WithoutCancel(ctx), source, user)
	return nil
}

func (f *Runner) install(ctx context.Context, source, user string) {
	entry, err := f.Installer.Install(ctx, Request{Source: source, User: user}, func(p Progress) {
		f.mu.Lock()
		f.state.Progress = p
		f.mu.Unlock()
	})
	if err != nil {
		f.Log.Error("firmware update failed", "source", source, "user", user, "err", err)
	} else {
		f.Log.Info("firmware update installed; reboot to start it", "version", entry.Version, "slot", entry.Slot, "user", user)
	}
	if f.Audit != nil {
		f.Audit(users.AuditEntry{At: time.Now().UTC(), User: user, Action: "firmware.install", Detail: AuditDetail(source, entry)})
	}
	f.mu.Lock()
	f.state.Running, f.state.Last = false, &entry
	f.mu.Unlock()
}

// State is the install in progress, the last one's outcome and the history.
func (f *Runner) State() (RunnerState, error) {
	f.mu.Lock()
	st := f.state
	f.mu.Unlock()
	entries, err := f.Installer.History.Entries()
	if err != nil {
		return st, err
	}
	st.History = []Entry{}
	for i := len(entries) - 1; i >= 0 && len(st.History) < 10; i-- {
		st.History = append(st.History, entries[i])
	}
	return st, nil
}
