package web

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/trigger"
)

// trigger takes {"part_id": "..."}, read by the same decoder and part_id
// rule as an MQTT trigger, so a part refused on one path is refused on every
// path. The trigger time is the arrival time, so the first frame captured
// from now on is inspected.
func (s *Server) trigger(c echo.Context) error {
	at := time.Now()
	camera, err := s.knownCamera(c)
	if err != nil {
		return err
	}
	if ct := c.Request().Header.Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send Content-Type: application/json")
	}
	// One byte past the limit is enough for the decoder to say too_large.
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, trigger.MaxSize+1))
	if err != nil {
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body is too large")
		}
		return badRequest("reading the request body: %v", err)
	}
	t, err := trigger.Decode(body)
	if err != nil {
		var te *trigger.Error
		errors.As(err, &te)
		status := http.StatusBadRequest
		if te.Code == trigger.CodeTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		return echo.NewHTTPError(status, map[string]string{"message": te.Reason, "code": te.Code})
	}
	if err := s.opts.App.Trigger(camera, t, at); err != nil {
		// Named, so a script knows which part gets no verdict.
		return echo.NewHTTPError(http.StatusConflict, map[string]string{
			"message": err.Error(), "code": "refused", "camera": camera, "part_id": t.PartID})
	}
	if !t.At.IsZero() {
		at = t.At // the PLC's time picks the frame
	}
	return c.JSON(http.StatusAccepted, map[string]any{"camera": camera, "part_id": t.PartID, "triggered_at": at.UTC()})
}
