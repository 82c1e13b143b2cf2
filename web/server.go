// Package web serves the appliance over HTTP with Echo: the JSON API under
// /api/v1 and the health endpoints.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Appliance is what the web server needs of the running appliance.
type Appliance interface {
	// Status is any JSON-encodable snapshot of the appliance.
	Status() any
	// State is "ready" when inspecting.
	State() string
	Trigger(camera, partID string, at time.Time) error
}

// maxTriggerBody bounds a trigger request; a part id is short.
const maxTriggerBody = 4 << 10

// New builds the HTTP handler.
func New(a Appliance) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", func(c echo.Context) error {
		if s := a.State(); s != "ready" {
			return c.String(http.StatusServiceUnavailable, s+"\n")
		}
		return c.String(http.StatusOK, "ready\n")
	})
	api := e.Group("/api/v1")
	api.GET("/status", func(c echo.Context) error { return c.JSON(http.StatusOK, a.Status()) })
	api.POST("/cameras/:camera/trigger", triggerHandler(a))
	return e
}

type triggerRequest struct {
	PartID string `json:"part_id"`
}

// triggerHandler takes {"part_id": "..."}; the trigger time is the arrival
// time, so the first frame captured from now on is inspected.
func triggerHandler(a Appliance) echo.HandlerFunc {
	return func(c echo.Context) error {
		at := time.Now()
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxTriggerBody)
		var req triggerRequest
		if err := c.Bind(&req); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "trigger body must be JSON like {\"part_id\": \"P-1\"} of at most 4 KB")
		}
		if req.PartID == "" || len(req.PartID) > 128 || strings.ContainsAny(req.PartID, "\x00\n\r") {
			return echo.NewHTTPError(http.StatusBadRequest, "part_id must be 1 to 128 printable characters")
		}
		if err := a.Trigger(c.Param("camera"), req.PartID, at); err != nil {
			return echo.NewHTTPError(http.StatusConflict, err.Error())
		}
		return c.JSON(http.StatusAccepted, map[string]any{"camera": c.Param("camera"), "part_id": req.PartID, "triggered_at": at})
	}
}

// Serve listens on addr until ctx ends, then shuts down gracefully. ready is
// told the bound address (useful with port 0).
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
		log.Warn("web server did not shut down cleanly", "err", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
