package web

import (
	"context"
	"errors"
	"github.com/linesight/linesight/appliance/update"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/health"
)

// The health snapshot's types, from the appliance (appliance/health).
type (
	System      = health.System
	Warmup      = health.Warmup
	ModelInfo   = health.ModelInfo
	DefectsInfo = health.DefectsInfo
	CameraInfo  = health.CameraInfo
	BrokerInfo  = health.BrokerInfo
	OutboxInfo  = health.OutboxInfo
	DiskInfo    = health.DiskInfo
)

func (s *Server) system(c echo.Context) error {
	return c.JSON(http.StatusOK, s.opts.App.System())
}

// Firmware installs signed firmware bundles (update.Runner): one at a time,
// in the background, its progress and the update history to show.
type Firmware interface {
	Start(ctx context.Context, source, user string) error
	State() (update.RunnerState, error)
}

func (s *Server) needFirmware() (Firmware, error) {
	if s.opts.Firmware == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "firmware updates are not available on this appliance")
	}
	return s.opts.Firmware, nil
}

func (s *Server) firmwareState(c echo.Context) error {
	fw, err := s.needFirmware()
	if err != nil {
		return err
	}
	st, err := fw.State()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

type firmwareRequest struct {
	// Source is the bundle: its path on the box or an http(s) URL.
	Source string `json:"source"`
}

func (s *Server) startFirmwareUpdate(c echo.Context) error {
	fw, err := s.needFirmware()
	if err != nil {
		return err
	}
	var req firmwareRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Source == "" {
		return badRequest("source is required: the bundle's path on the box or its http(s) URL")
	}
	switch err := fw.Start(c.Request().Context(), req.Source, whoName(c)); {
	case errors.Is(err, update.ErrInstallRunning):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case err != nil:
		return badRequest("%v", err)
	}
	st, err := fw.State()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, st)
}
