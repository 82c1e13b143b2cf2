package web

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/defects"
)

// RecordLabels is what the operator-feedback endpoints need of the journal
// beyond History; the appliance's journal has it.
type RecordLabels interface {
	SetLabel(id uint64, l journal.Label, setFor journal.SetFor) (journal.Record, error)
	ClearLabel(id uint64) (journal.Record, error)
	Distribution(q journal.DistributionQuery) (journal.Distribution, error)
}

func (s *Server) needLabels() (RecordLabels, error) {
	h, err := s.needHistory()
	if err != nil {
		return nil, err
	}
	l, ok := h.(RecordLabels)
	if !ok {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "this journal does not keep labels")
	}
	return l, nil
}

// defectFile reads the defect-class file as it is now.
func (s *Server) defectFile() (*defects.File, error) {
	cl, err := s.needClasses()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(cl.Path())
	if err != nil {
		return nil, fmt.Errorf("read defect classes: %w", err)
	}
	f, err := defects.Parse(filepath.Base(cl.Path()), data)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusConflict, "the defect-class file is not valid: "+err.Error())
	}
	return f, nil
}

type labelRequest struct {
	Correct *bool  `json:"correct"`
	Class   string `json:"class"`
}

// putLabel stores an engineer's judgement of a record: right or wrong and
// its true class (docs/api.md).
func (s *Server) putLabel(c echo.Context) error {
	lj, err := s.needLabels()
	if err != nil {
		return err
	}
	id, err := recordID(c)
	if err != nil {
		return err
	}
	var req labelRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Correct == nil {
		return badRequest("correct is required: true when the verdict was right, false when it was wrong")
	}
	f, err := s.defectFile()
	if err != nil {
		return err
	}
	r, err := lj.SetLabel(id, journal.Label{Correct: *req.Correct, Class: req.Class, By: whoName(c), At: s.now()}, s.setForCamera(f))
	if err != nil {
		return labelError(err)
	}
	verdict := "wrong"
	if r.Label.Correct {
		verdict = "right"
	}
	s.auditLog(c, users.AuditEntry{Action: "record.label",
		Detail: fmt.Sprintf("record %d (%s %s, camera %s): %s, true class %s", id, r.Outcome, r.Class, r.Camera, verdict, r.Label.Class)})
	return c.JSON(http.StatusOK, viewRecord(r))
}

// deleteLabel clears a record's label.
func (s *Server) deleteLabel(c echo.Context) error {
	lj, err := s.needLabels()
	if err != nil {
		return err
	}
	id, err := recordID(c)
	if err != nil {
		return err
	}
	before, err := lj.ClearLabel(id)
	if err != nil {
		return labelError(err)
	}
	s.auditLog(c, users.AuditEntry{Action: "record.label.clear",
		Detail: fmt.Sprintf("record %d (%s %s, camera %s): label cleared (was %s by %s)", id, before.Outcome, before.Class,
			before.Camera, before.Label.Class, before.Label.By)})
	return c.NoContent(http.StatusNoContent)
}

// labelError maps the journal's label errors to statuses: an unknown
// record or label 404, a record that takes no label 409, a label that does
// not fit 400.
func labelError(err error) error {
	var le *journal.LabelError
	switch {
	case errors.Is(err, journal.ErrNotFound), errors.Is(err, journal.ErrNoLabel):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, journal.ErrNotLabellable):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case errors.As(err, &le):
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return err
}
