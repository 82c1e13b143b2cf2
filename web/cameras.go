package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// streamWriteTimeout drops a client that cannot take one event or frame.
const streamWriteTimeout = 10 * time.Second

// ssePing keeps idle streams open through proxies.
var ssePing = 15 * time.Second

func (s *Server) cameraIDs() []string {
	var ids []string
	for _, c := range s.opts.App.System().Cameras {
		ids = append(ids, c.ID)
	}
	return ids
}

func (s *Server) knownCamera(c echo.Context) (string, error) {
	id := c.Param("camera")
	if !slices.Contains(s.cameraIDs(), id) {
		return "", echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no camera %q", id))
	}
	return id, nil
}

func (s *Server) cameras(c echo.Context) error {
	return c.JSON(http.StatusOK, s.live.last(s.cameraIDs()))
}

// VerdictHeader carries, on a live frame, the verdict that frame shows: JSON
// (without scores), percent-encoded so any part id fits in a header. The
// dashboard captions the picture from it, never from a newer verdict.
const VerdictHeader = "X-Linesight-Verdict"

// FrameSizeHeader gives, on a live frame, the size ("640x480") of the frame
// before it was scaled for the view: the verdict's anomaly map is placed in
// those pixels.
const FrameSizeHeader = "X-Linesight-Frame-Size"

func (s *Server) frameJPEG(c echo.Context) error {
	id, err := s.knownCamera(c)
	if err != nil {
		return err
	}
	f, ok, err := s.live.frame(id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no frame yet from camera "+id)
	}
	caption := *f.verdict
	caption.Scores, caption.Truth = nil, nil
	data, err := json.Marshal(liveVerdict{Verdict: caption, AnomalyMap: caption.Anomaly.MapView()})
	if err != nil {
		return fmt.Errorf("encode the verdict of a live frame: %w", err)
	}
	c.Response().Header().Set(VerdictHeader, url.PathEscape(string(data)))
	if f.jpeg == nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("the latest verdict of camera %s (#%d) has no frame", id, caption.Seq))
	}
	c.Response().Header().Set(FrameSizeHeader, fmt.Sprintf("%dx%d", f.srcW, f.srcH))
	return c.Blob(http.StatusOK, "image/jpeg", f.jpeg)
}

// liveRejects lists the newest FAIL and UNCERTAIN parts for the strip.
func (s *Server) liveRejects(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, s.live.recentRejects())
}

func (s *Server) liveRejectJPEG(c echo.Context) error {
	id, err := strconv.ParseUint(strings.TrimSuffix(c.Param("file"), ".jpg"), 10, 64)
	if err != nil || !strings.HasSuffix(c.Param("file"), ".jpg") {
		return echo.NewHTTPError(http.StatusNotFound, "no such picture: want /live/rejects/<id>.jpg")
	}
	data, ok, err := s.live.rejectJPEG(id)
	if err != nil {
		return err
	}
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("reject %d is no longer kept", id))
	}
	// A reject's picture never changes.
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.Blob(http.StatusOK, "image/jpeg", data)
}

const mjpegBoundary = "frame"

// liveMJPEG streams a camera's frames as multipart/x-mixed-replace. The
// handler goroutine is the client's own: it waits for new frames and is
// dropped when a write stalls or the client or server goes away.
func (s *Server) liveMJPEG(c echo.Context) error {
	id, err := s.knownCamera(c)
	if err != nil {
		return err
	}
	w := c.Response()
	rc := http.NewResponseController(w)
	w.Header().Set(echo.HeaderContentType, "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	ctx := c.Request().Context()
	var sent uint64
	for {
		changed := s.live.waitChange(id)
		f, ok, err := s.live.frame(id)
		if err != nil {
			return nil // headers are out; end the stream
		}
		if ok && f.jpeg != nil && f.gen != sent {
			rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", mjpegBoundary, len(f.jpeg)); err != nil {
				return nil
			}
			// Two writes: f.jpeg is shared by every stream, so it is never
			// appended to.
			if _, err := w.Write(f.jpeg); err != nil {
				return nil
			}
			if _, err := io.WriteString(w, "\r\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			sent = f.gen
			changed = f.changed
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// verdictStream is the SSE feed of verdicts and alarm changes.
func (s *Server) verdictStream(c echo.Context) error {
	camera := c.QueryParam("camera")
	if camera != "" {
		if _, err := s.knownCamera(withParam(c, camera)); err != nil {
			return err
		}
	}
	sub := s.live.bus.subscribe(camera)
	defer s.live.bus.unsubscribe(sub)
	w := c.Response()
	rc := http.NewResponseController(w)
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte("retry: 3000\n\n")) {
		return nil
	}
	ping := time.NewTicker(ssePing)
	defer ping.Stop()
	ctx := c.Request().Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.gone:
			return nil
		case ev := <-sub.ch:
			if !write(ev) {
				return nil
			}
		case <-ping.C:
			if !write([]byte(": ping\n\n")) {
				return nil
			}
		}
	}
}

// withParam lets knownCamera check a camera named in the query string.
func withParam(c echo.Context, camera string) echo.Context {
	c.SetParamNames("camera")
	c.SetParamValues(camera)
	return c
}
