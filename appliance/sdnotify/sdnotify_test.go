package sdnotify

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// never is a service that never becomes ready.
type never struct{}

func (never) Ready() <-chan struct{}   { return nil }
func (never) Progress() (uint64, bool) { return 0, false }

// Outside systemd the notifier returns at once; it does not wait for ctx.
func TestNoNotifySocketReturnsAtOnce(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	if err := Run(context.Background(), never{}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
}

// A malformed watchdog interval is an error that names it.
func TestBadWatchdogInterval(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/nonexistent/notify")
	t.Setenv("WATCHDOG_USEC", "soon")
	err := Run(context.Background(), never{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "WATCHDOG_USEC") {
		t.Fatalf("err %v, want one about WATCHDOG_USEC", err)
	}
}
