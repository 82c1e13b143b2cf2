package web

import (
	"net/http"
	"path/filepath"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/shiftreport"
)

func (s *Server) reportsDir() (string, error) {
	if s.opts.Reports == "" {
		return "", echo.NewHTTPError(http.StatusServiceUnavailable, "shift reports are not kept by this appliance")
	}
	return s.opts.Reports, nil
}

// listReports lists the saved shift reports, newest first.
func (s *Server) listReports(c echo.Context) error {
	dir, err := s.reportsDir()
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 100, 1, 10000)
	if err != nil {
		return err
	}
	list, err := shiftreport.List(dir, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

// report serves one report file, its JSON or its page, by the name List
// gave: nothing else in the folder is reachable.
func (s *Server) report(c echo.Context) error {
	dir, err := s.reportsDir()
	if err != nil {
		return err
	}
	name := c.Param("file")
	if !shiftreport.FilePattern.MatchString(name) {
		return echo.NewHTTPError(http.StatusNotFound, "no such report: the names are shift-YYYYMMDD-HHMM.json or .html")
	}
	return c.File(filepath.Join(dir, name))
}
