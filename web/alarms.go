package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/health"
	"github.com/linesight/linesight/appliance/users"
)

// Alarm is an alarm as the dashboard lists it (appliance/health).
type Alarm = health.Alarm

// checkAlarms evaluates the conditions, when the server keeps its own
// alarm monitor (Options.Alarms unset); the monitor tells the stream's
// clients of a change.
func (s *Server) checkAlarms() {
	if s.ownAlarms {
		s.alarms.Check()
	}
}

func (s *Server) publishAlarms() {
	data, err := json.Marshal(s.alarms.List())
	if err != nil {
		return
	}
	s.live.bus.publish(sseEvent("", "alarms", data), "")
}

func (s *Server) listAlarms(c echo.Context) error {
	return c.JSON(http.StatusOK, s.alarms.List())
}

func (s *Server) ackAlarm(c echo.Context) error {
	al, ok := s.alarms.Ack(c.Param("id"), whoName(c))
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("alarm %q is not active", c.Param("id")))
	}
	s.auditLog(c, users.AuditEntry{Action: "alarm.ack", Detail: al.ID})
	return c.JSON(http.StatusOK, al)
}

// alarmHistory lists the alarms raised, acknowledged and cleared in a
// time range (default: the last 24 hours), newest first.
func (s *Server) alarmHistory(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	from, to, err := timeRange(c, s.now(), 24*time.Hour)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 200, 1, 10000)
	if err != nil {
		return err
	}
	events, err := h.AlarmEvents(from, to, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, events)
}
