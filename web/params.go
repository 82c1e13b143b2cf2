package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

func badRequest(format string, args ...any) error {
	return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// timeParam reads an RFC 3339 time or a duration back from now ("8h").
func timeParam(c echo.Context, name string, now time.Time, def time.Time) (time.Time, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(raw); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, badRequest("%s must be an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (8h)", name)
}

// timeRange reads from and to; from defaults to def before to.
func timeRange(c echo.Context, now time.Time, def time.Duration) (from, to time.Time, err error) {
	if to, err = timeParam(c, "to", now, now); err != nil {
		return
	}
	if from, err = timeParam(c, "from", now, to.Add(-def)); err != nil {
		return
	}
	if !from.Before(to) {
		err = badRequest("from must be before to")
	}
	return
}
