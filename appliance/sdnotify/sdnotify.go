// Package sdnotify tells systemd how the appliance is doing, over the
// socket systemd names in $NOTIFY_SOCKET: READY=1 once it inspects,
// WATCHDOG=1 while its inspection loop shows signs of life, STOPPING=1 when
// it stops. Outside systemd (no $NOTIFY_SOCKET) it does nothing.
package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Service is what the notifier reports on.
type Service interface {
	// Ready is closed once the service does its job (the model is warm and
	// the loop inspects).
	Ready() <-chan struct{}
	// Progress is a count that moves while the service works, idle or busy,
	// and stands still when it is stuck; ok is false while it is not
	// running (stopping).
	Progress() (count uint64, ok bool)
}

// checksPerInterval is how often, per watchdog interval, the notifier looks
// at the progress count. A ping goes out on each look that finds it moved, so
// a loop that is slow for up to three quarters of the interval (one long
// batch) is not mistaken for a stuck one, and a stuck one goes unpinged for
// the whole interval.
const checksPerInterval = 4

// Run notifies systemd until ctx ends: READY=1 when svc is ready, WATCHDOG=1
// whenever its progress moved since the last look (when systemd asked for a
// watchdog with $WATCHDOG_USEC), STOPPING=1 once ctx ends. It returns at once
// when not started by systemd. Failed notifications are logged, not fatal:
// inspection goes on.
func Run(ctx context.Context, svc Service, log *slog.Logger) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return fmt.Errorf("systemd watchdog: %w", err)
	}
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil // not a systemd service of Type=notify
	}
	n := notifier{log: log}
	select {
	case <-ctx.Done():
		n.send(ctx, daemon.SdNotifyStopping)
		return nil
	case <-svc.Ready():
	}
	n.send(ctx, daemon.SdNotifyReady+"\nSTATUS=inspecting")
	if interval <= 0 {
		<-ctx.Done()
		n.send(ctx, daemon.SdNotifyStopping)
		return nil
	}
	tick := time.NewTicker(interval / checksPerInterval)
	defer tick.Stop()
	last, _ := svc.Progress()
	stalledSince := time.Time{}
	for {
		select {
		case <-ctx.Done():
			n.send(ctx, daemon.SdNotifyStopping)
			return nil
		case now := <-tick.C:
			count, ok := svc.Progress()
			if !ok {
				continue
			}
			if count != last {
				if !stalledSince.IsZero() {
					log.Info("inspection loop progressing again; watchdog pings resumed", "stalled", now.Sub(stalledSince).Round(time.Millisecond))
					stalledSince = time.Time{}
				}
				last = count
				n.send(ctx, daemon.SdNotifyWatchdog)
				continue
			}
			if stalledSince.IsZero() {
				stalledSince = now
				log.Warn("inspection loop made no progress; watchdog pings withheld, systemd restarts the service if it stays stuck",
					"watchdog", interval)
			}
		}
	}
}

type notifier struct {
	log    *slog.Logger
	failed bool // a failure was logged; log the next one only after a success
}

// send sends state to systemd.
func (n *notifier) send(ctx context.Context, state string) {
	_, err := daemon.SdNotify(false, state)
	switch {
	case err != nil && !n.failed:
		n.failed = true
		n.log.ErrorContext(ctx, "systemd notification failed", "state", state, "err", err)
	case err == nil:
		n.failed = false
	}
}
