package web

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/defects"
)

// The golden-sample endpoints (docs/api.md): the domain is golden.Manager;
// these only read requests, call it, audit and answer.

// goldenJPEGQuality is the quality of a live frame kept as a golden sample:
// high, so the sample is the frame and not its compression.
const goldenJPEGQuality = 95

func (s *Server) goldenRoutes(api *echo.Group, op, eng echo.MiddlewareFunc) {
	api.GET("/golden", s.goldenList, op)
	api.GET("/golden/:set/:id", s.goldenImage, op)
	api.POST("/golden/:set", s.goldenUpload, limitBody(golden.MaxImageBytes), eng)
	api.POST("/golden/:set/from-live/:camera", s.goldenFromLive, limitBody(maxBody), eng)
	api.POST("/golden/:set/from-record/:id", s.goldenFromRecord, limitBody(maxBody), eng)
	api.DELETE("/golden/:set/:id", s.goldenRemove, eng)
}

// goldenErr answers with the status an error of the golden
// package calls for.
func goldenErr(c echo.Context, err error) error {
	return echo.NewHTTPError(golden.HTTPStatus(err), err.Error())
}

func (s *Server) needGolden(c echo.Context) (*golden.Manager, error) {
	if s.opts.Golden == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "golden samples are not available: the model is not loaded")
	}
	return s.opts.Golden, nil
}

func (s *Server) goldenList(c echo.Context) error {
	g, err := s.needGolden(c)
	if g == nil {
		return err
	}
	sets, err := g.Status()
	if err != nil {
		return goldenErr(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"sets": sets})
}

func (s *Server) goldenImage(c echo.Context) error {
	g, err := s.needGolden(c)
	if g == nil {
		return err
	}
	id, ok := strings.CutSuffix(c.Param("id"), ".jpg")
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "a golden sample's image is <id>.jpg")
	}
	smp, data, err := g.Image(c.Param("set"), id)
	if err != nil {
		return goldenErr(c, err)
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=86400")
	return c.Blob(http.StatusOK, smp.ContentType(), data)
}

// goldenAdd adds data to the set and audits it.
func (s *Server) goldenAdd(c echo.Context, data []byte, o golden.Origin, from string) error {
	g, err := s.needGolden(c)
	if g == nil {
		return err
	}
	set := c.Param("set")
	o.By = whoName(c)
	smp, err := g.Add(set, data, o)
	if err != nil {
		return goldenErr(c, err)
	}
	s.auditLog(c, users.AuditEntry{Action: "golden.add", Detail: fmt.Sprintf("set %s: sample %s from %s", set, smp.ID, from)})
	return c.JSON(http.StatusCreated, smp)
}

func (s *Server) goldenUpload(c echo.Context) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "image/jpeg" && ct != "image/png" {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("the body must be the image itself, image/jpeg or image/png, not %q", ct))
	}
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("read the image: %v (at most %d MiB)", err, golden.MaxImageBytes>>20))
	}
	return s.goldenAdd(c, data, golden.Origin{Source: golden.SourceFile}, "an upload")
}

func (s *Server) goldenFromLive(c echo.Context) error {
	id, err := s.knownCamera(c)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no camera %q", c.Param("camera")))
	}
	img, v, ok := s.live.cleanFrame(id)
	if !ok {
		return echo.NewHTTPError(http.StatusConflict, "camera "+id+" has no live frame to take: wait for its next part")
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: goldenJPEGQuality}); err != nil {
		return fmt.Errorf("encode the live frame of %s: %w", id, err)
	}
	return s.goldenAdd(c, buf.Bytes(), golden.Origin{Source: golden.SourceLive}, fmt.Sprintf("camera %s's live frame (#%d)", id, v.Seq))
}

func (s *Server) goldenFromRecord(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the journal is not open")
	}
	id, err := recordID(c)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "record id must be a positive whole number")
	}
	rec, err := h.Get(id)
	if errors.Is(err, journal.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no record %d", id))
	}
	if err != nil {
		return err
	}
	// A PASS, or a part an engineer labelled good (a false reject):
	// journal.GoldenCandidate is the rule.
	var set *defects.ClassSet
	if f, ferr := s.defectFile(); ferr == nil {
		set = f.Sets[c.Param("set")]
	}
	if err := journal.GoldenCandidate(rec, set); err != nil {
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	path, err := h.Image(id)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("record %d has no stored image: %v", id, err))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("record %d's image was removed", id))
	}
	return s.goldenAdd(c, data, golden.Origin{Source: golden.SourceRecord, RecordID: id}, fmt.Sprintf("record %d", id))
}

func (s *Server) goldenRemove(c echo.Context) error {
	g, err := s.needGolden(c)
	if g == nil {
		return err
	}
	set := c.Param("set")
	smp, err := g.Remove(set, c.Param("id"))
	if err != nil {
		return goldenErr(c, err)
	}
	s.auditLog(c, users.AuditEntry{Action: "golden.remove", Detail: fmt.Sprintf("set %s: sample %s", set, smp.ID)})
	return c.JSON(http.StatusOK, smp)
}
