package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	xdraw "golang.org/x/image/draw"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
)

// History is what the server reads from the journal.
type History interface {
	Query(q journal.Query) (journal.Page, error)
	Get(id uint64) (journal.Record, error)
	Image(id uint64) (string, error)
	Counters(from, to time.Time) (journal.Counters, error)
	AlarmEvents(from, to time.Time, limit int) ([]journal.AlarmEvent, error)
}

func (s *Server) needHistory() (History, error) {
	if s.opts.History == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "the journal is not open")
	}
	return s.opts.History, nil
}

// recordView is a journal record as the API shows it.
type recordView struct {
	journal.Record
	HasImage bool   `json:"has_image"`
	ImageURL string `json:"image_url,omitempty"`
	ThumbURL string `json:"thumb_url,omitempty"`
}

func viewRecord(r journal.Record) recordView {
	v := recordView{Record: r, HasImage: r.Image != ""}
	v.Record.Image = "" // a path inside the data directory is nobody's business
	if v.HasImage {
		v.ImageURL = fmt.Sprintf("/api/v1/history/%d/image.jpg", r.ID)
		v.ThumbURL = fmt.Sprintf("/api/v1/history/%d/thumb.jpg", r.ID)
	}
	return v
}

var outcomes = map[string]defects.Outcome{"PASS": defects.Pass, "FAIL": defects.Fail, "UNCERTAIN": defects.Uncertain, "MISSED": defects.Missed}

// historyQuery reads the filters shared by /history and /history.csv.
func (s *Server) historyQuery(c echo.Context) (journal.Query, error) {
	var q journal.Query
	now := s.now()
	var err error
	if q.From, err = timeParam(c, "from", now, time.Time{}); err != nil {
		return q, err
	}
	if q.To, err = timeParam(c, "to", now, time.Time{}); err != nil {
		return q, err
	}
	if o := c.QueryParam("outcome"); o != "" {
		var ok bool
		if q.Outcome, ok = outcomes[o]; !ok {
			return q, badRequest("outcome must be PASS, FAIL, UNCERTAIN or MISSED")
		}
	}
	switch c.QueryParam("order") {
	case "", "newest":
	case "oldest":
		q.Oldest = true
	default:
		return q, badRequest("order must be newest or oldest")
	}
	q.Camera, q.Class, q.PartID, q.Cursor = c.QueryParam("camera"), c.QueryParam("class"), c.QueryParam("part_id"), c.QueryParam("cursor")
	return q, nil
}

func (s *Server) history(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	q, err := s.historyQuery(c)
	if err != nil {
		return err
	}
	if q.Limit, err = intParam(c, "limit", 100, 1, 1000); err != nil {
		return err
	}
	page, err := h.Query(q)
	if err != nil {
		if q.Cursor != "" {
			return badRequest("%v", err)
		}
		return err
	}
	out := struct {
		Records []recordView `json:"records"`
		Next    string       `json:"next,omitempty"`
	}{Records: []recordView{}, Next: page.Next}
	for _, r := range page.Records {
		out.Records = append(out.Records, viewRecord(r))
	}
	return c.JSON(http.StatusOK, out)
}

func recordID(c echo.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return 0, badRequest("record id must be a positive whole number")
	}
	return id, nil
}

func journalError(err error) error {
	if errors.Is(err, journal.ErrNotFound) || errors.Is(err, journal.ErrNoImage) {
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	}
	return err
}

func (s *Server) historyRecord(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	id, err := recordID(c)
	if err != nil {
		return err
	}
	r, err := h.Get(id)
	if err != nil {
		return journalError(err)
	}
	return c.JSON(http.StatusOK, viewRecord(r))
}

func (s *Server) imagePath(c echo.Context) (string, error) {
	h, err := s.needHistory()
	if err != nil {
		return "", err
	}
	id, err := recordID(c)
	if err != nil {
		return "", err
	}
	path, err := h.Image(id)
	if err != nil {
		return "", journalError(err)
	}
	return path, nil
}

func (s *Server) historyImage(c echo.Context) error {
	path, err := s.imagePath(c)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "the image was removed")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, c.Request(), "", st.ModTime(), f)
	return nil
}

func (s *Server) historyThumb(c echo.Context) error {
	size, err := intParam(c, "size", 240, 32, 480)
	if err != nil {
		return err
	}
	path, err := s.imagePath(c)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "the image was removed")
	}
	defer f.Close()
	src, err := jpeg.Decode(f)
	if err != nil {
		return fmt.Errorf("decode stored image: %w", err)
	}
	b := src.Bounds()
	scale := min(1, float64(size)/float64(max(b.Dx(), b.Dy())))
	dst := image.NewRGBA(image.Rect(0, 0, max(1, int(float64(b.Dx())*scale)), max(1, int(float64(b.Dy())*scale))))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, xdraw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 75}); err != nil {
		return fmt.Errorf("encode thumbnail: %w", err)
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=86400")
	return c.Blob(http.StatusOK, "image/jpeg", buf.Bytes())
}

// csvPage is how many records the export reads per journal query.
const csvPage = 1000

func (s *Server) historyCSV(c echo.Context) error {
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	q, err := s.historyQuery(c)
	if err != nil {
		return err
	}
	if q.Cursor != "" {
		return badRequest("the CSV export takes no cursor")
	}
	limit, err := intParam(c, "limit", 1_000_000, 1, 1_000_000)
	if err != nil {
		return err
	}
	q.Limit = min(csvPage, limit)
	page, err := h.Query(q) // the first page before the headers, so errors still get a status
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, `attachment; filename="linesight-history.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "captured_at", "camera", "seq", "part_id", "outcome", "action", "class", "confidence", "latency_ms", "config_hash", "reason"})
	n := 0
	ctx := c.Request().Context()
	for {
		for _, r := range page.Records {
			if n == limit {
				break
			}
			cw.Write([]string{
				strconv.FormatUint(r.ID, 10), r.CapturedAt.UTC().Format(time.RFC3339Nano), r.Camera,
				strconv.FormatUint(r.Seq, 10), csvSafe(r.PartID), string(r.Outcome), string(r.Action), r.Class,
				strconv.FormatFloat(r.Confidence, 'f', 4, 64), strconv.FormatFloat(float64(r.Latency)/1e6, 'f', 1, 64),
				r.ConfigHash, csvSafe(r.Reason),
			})
			n++
		}
		cw.Flush()
		if cw.Error() != nil || page.Next == "" || n >= limit || ctx.Err() != nil {
			return nil
		}
		q.Cursor = page.Next
		if page, err = h.Query(q); err != nil {
			s.log.Error("history export stopped", "err", err)
			return nil
		}
	}
}

// csvSafe keeps spreadsheet programs from running a part id as a formula.
func csvSafe(s string) string {
	if s != "" && bytes.ContainsAny([]byte{s[0]}, "=+-@\t\r") {
		return "'" + s
	}
	return s
}
