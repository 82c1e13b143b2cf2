package web

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
)

// streamSlots caps the live streams open at once, in all and per camera:
// each holds a connection and a goroutine, and an MJPEG stream sends a
// camera's frames at up to 5 a second, so unbounded streams (kiosk mode
// needs no login) could take the appliance's bandwidth and memory.
type streamSlots struct {
	mu        sync.Mutex
	total     int
	perCamera int
	open      int
	byCamera  map[string]int
	refused   uint64
}

func newStreamSlots(total, perCamera int) *streamSlots {
	return &streamSlots{total: total, perCamera: perCamera, byCamera: map[string]int{}}
}

// take reserves a slot for a stream of camera ("" for one of every camera,
// which counts in the total only). It fails beyond either cap.
func (s *streamSlots) take(camera string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.open >= s.total:
		s.refused++
		return nil, fmt.Errorf("%d live streams are open, the most the appliance serves (web.max_streams); close a live view or try again later", s.open)
	case camera != "" && s.byCamera[camera] >= s.perCamera:
		s.refused++
		return nil, fmt.Errorf("%d live streams of camera %s are open, the most it serves (web.max_streams_per_camera); close a live view or try again later", s.byCamera[camera], camera)
	}
	s.open++
	if camera != "" {
		s.byCamera[camera]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.open--
			if camera != "" {
				if s.byCamera[camera]--; s.byCamera[camera] == 0 {
					delete(s.byCamera, camera)
				}
			}
		})
	}, nil
}

func (s *streamSlots) stats() (open int, refused uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, s.refused
}

// streamSlot holds a slot for the whole of a streaming request, or answers
// 503 when none is free; camera names the stream's camera ("" for all).
func (s *Server) streamSlot(camera func(echo.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			release, err := s.streams.take(camera(c))
			if err != nil {
				c.Response().Header().Set("Retry-After", strconv.Itoa(streamRetryAfter))
				return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
			}
			defer release()
			return next(c)
		}
	}
}

// streamRetryAfter is the seconds a refused stream client is told to wait.
const streamRetryAfter = 5

func cameraParam(c echo.Context) string { return c.Param("camera") }
func cameraQuery(c echo.Context) string { return c.QueryParam("camera") }
