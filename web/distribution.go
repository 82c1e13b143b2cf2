package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/journal"
)

// classDistribution gives the defect-class page each class's score
// histogram over recent and labelled records with its threshold, and the
// anomaly score's for a set with anomaly detection (docs/api.md).
func (s *Server) classDistribution(c echo.Context) error {
	lj, err := s.needLabels()
	if err != nil {
		return err
	}
	f, err := s.defectFile()
	if err != nil {
		return err
	}
	name := c.Param("set")
	set, ok := f.Sets[name]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no class set "+name+" (sets: "+strings.Join(f.SetNames(), ", ")+")")
	}
	window := 24 * time.Hour
	if raw := c.QueryParam("range"); raw != "" {
		if window, err = time.ParseDuration(raw); err != nil || window <= 0 {
			return badRequest("range must be a positive duration such as 8h or 168h")
		}
	}
	bins, err := intParam(c, "bins", 20, 2, 100)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 10000, 1, 100000)
	if err != nil {
		return err
	}
	now := s.now()
	setFor := s.setForCamera(f)
	inSet := func(camera string) bool {
		cs, err := setFor(camera)
		return err == nil && cs.Name == name
	}
	d, err := lj.Distribution(journal.DistributionQuery{Set: set, InSet: inSet, From: now.Add(-window), To: now, Bins: bins, Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
