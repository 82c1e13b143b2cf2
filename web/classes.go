package web

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

func (s *Server) needClasses() (Classes, error) {
	if s.opts.Classes == nil || s.opts.Classes.Path() == "" {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "no defect-class file is configured")
	}
	return s.opts.Classes, nil
}

type classView struct {
	Name      string   `json:"name"`
	Good      bool     `json:"good"`
	Threshold float64  `json:"threshold"`
	Prompts   []string `json:"prompts"`
}

type setView struct {
	Name      string      `json:"name"`
	Uncertain string      `json:"uncertain"`
	Classes   []classView `json:"classes"`
}

func viewSets(f *defects.File) []setView {
	out := []setView{}
	for _, name := range f.SetNames() {
		set := f.Sets[name]
		sv := setView{Name: name, Uncertain: string(set.Uncertain)}
		for _, c := range set.Classes {
			sv.Classes = append(sv.Classes, classView{c.Name, c.Good, c.Threshold, c.Prompts})
		}
		out = append(out, sv)
	}
	return out
}

func (s *Server) getClasses(c echo.Context) error {
	cl, err := s.needClasses()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(cl.Path())
	if err != nil {
		return fmt.Errorf("read defect classes: %w", err)
	}
	out := map[string]any{"path": filepath.Base(cl.Path()), "yaml": string(data)}
	f, err := defects.Parse(filepath.Base(cl.Path()), data)
	if err != nil {
		out["error"] = err.Error() // edited by hand into an invalid state
	} else {
		out["hash"], out["sets"], out["cameras"] = f.Hash(), viewSets(f), f.Cameras
		out["camera_sets"] = s.cameraSets(f)
	}
	return c.JSON(http.StatusOK, out)
}

// cameraSets is the set each running camera scores with under f (camera id
// -> set name; a camera the file maps to no set is left out), resolved by
// the rule the appliance uses, so the dashboard need not know it.
func (s *Server) cameraSets(f *defects.File) map[string]string {
	setFor := s.setForCamera(f)
	out := map[string]string{}
	for _, cam := range s.opts.App.System().Cameras {
		if set, err := setFor(cam.ID); err == nil {
			out[cam.ID] = set.Name
		}
	}
	return out
}

// setForCamera resolves a camera id of this line (as verdicts and records
// carry it) to its class set under f. The file maps cameras by their full
// name, line/id, as the appliance does.
func (s *Server) setForCamera(f *defects.File) journal.SetFor {
	line := s.opts.App.System().Line
	return func(camera string) (*defects.ClassSet, error) {
		return f.SetFor(line + "/" + camera)
	}
}

// parseEdited validates YAML from the editor: 422 with the parser's
// message (path and line) when it is wrong.
func parseEdited(name, yaml string) (*defects.File, error) {
	if yaml == "" {
		return nil, badRequest("yaml is empty")
	}
	f, err := defects.Parse(name, []byte(yaml))
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error())
	}
	return f, nil
}

type tryRequest struct {
	YAML   string `json:"yaml"`
	Last   int    `json:"last"`
	Camera string `json:"camera"`
}

type flipView struct {
	ID         uint64          `json:"id"`
	Camera     string          `json:"camera"`
	PartID     string          `json:"part_id,omitempty"`
	CapturedAt time.Time       `json:"captured_at"`
	From       defects.Outcome `json:"from"`
	FromClass  string          `json:"from_class"`
	To         defects.Outcome `json:"to"`
	ToClass    string          `json:"to_class"`
	Confidence float64         `json:"confidence"`
	HasImage   bool            `json:"has_image"`
}

const maxFlipsShown = 200

// tryClasses scores the newest stored embeddings with an edited file and
// reports what would change. Nothing is saved or installed.
func (s *Server) tryClasses(c echo.Context) error {
	cl, err := s.needClasses()
	if err != nil {
		return err
	}
	h, err := s.needHistory()
	if err != nil {
		return err
	}
	var req tryRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Last == 0 {
		req.Last = 200
	}
	if req.Last < 1 || req.Last > 5000 {
		return badRequest("last must be from 1 to 5000")
	}
	f, err := parseEdited(filepath.Base(cl.Path()), req.YAML)
	if err != nil {
		return err
	}
	s.classMu.Lock()
	defer s.classMu.Unlock()
	scorers, err := s.prepare(cl, f)
	if err != nil {
		return err
	}
	var before, after journal.Counts
	out := struct {
		Hash     string         `json:"hash"`
		Rescored int            `json:"rescored"`
		Skipped  int            `json:"skipped"`
		Before   journal.Counts `json:"before"`
		After    journal.Counts `json:"after"`
		Flipped  int            `json:"flipped"`
		Flips    []flipView     `json:"flips"`
	}{Hash: f.Hash(), Flips: []flipView{}}
	q := journal.Query{Camera: req.Camera, Limit: min(req.Last, 1000)}
	seen := 0
	for seen < req.Last {
		page, err := h.Query(q)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if seen == req.Last {
				break
			}
			seen++
			sc := scorers[r.Camera]
			if sc == nil {
				out.Skipped++
				continue
			}
			full, err := h.Get(r.ID)
			var res defects.Result
			if err != nil || !journal.RescoreInto(sc, r.Outcome, full.Embedding, full.ModelDigest, full.Anomaly, &res) {
				out.Skipped++
				continue
			}
			out.Rescored++
			before.Count(r.Outcome)
			after.Count(res.Outcome)
			if res.Outcome != r.Outcome {
				out.Flipped++
				if len(out.Flips) < maxFlipsShown {
					out.Flips = append(out.Flips, flipView{ID: r.ID, Camera: r.Camera, PartID: r.PartID, CapturedAt: r.CapturedAt.UTC(),
						From: r.Outcome, FromClass: r.Class, To: res.Outcome, ToClass: res.Class, Confidence: res.Confidence, HasImage: r.Image != ""})
				}
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	out.Before, out.After = before, after
	return c.JSON(http.StatusOK, out)
}

// ErrNotReady is what Classes.Prepare returns while the model is not loaded.
var ErrNotReady = errors.New("the model is not loaded yet")

func (s *Server) prepare(cl Classes, f *defects.File) (inspect.Scorers, error) {
	scorers, err := cl.Prepare(f)
	if errors.Is(err, ErrNotReady) {
		return nil, echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error())
	}
	return scorers, nil
}

type saveRequest struct {
	YAML     string `json:"yaml"`
	BaseHash string `json:"base_hash"`
	Comment  string `json:"comment"`
}

// saveClasses validates an edited file, prepares its scorers, writes it
// atomically with the old one kept as .bak, reloads the appliance and
// records the change. Any failure before the rename leaves file and running
// classes as they were; a failed reload puts the old file back.
func (s *Server) saveClasses(c echo.Context) error {
	cl, err := s.needClasses()
	if err != nil {
		return err
	}
	var req saveRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if len(req.Comment) > 500 {
		return badRequest("comment must be at most 500 characters")
	}
	path := cl.Path()
	f, err := parseEdited(filepath.Base(path), req.YAML)
	if err != nil {
		return err
	}
	s.classMu.Lock()
	defer s.classMu.Unlock()
	oldData, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read defect classes: %w", err)
	}
	old, oldErr := defects.Parse(filepath.Base(path), oldData)
	oldHash := ""
	if oldErr == nil {
		oldHash = old.Hash()
	}
	if req.BaseHash != "" && req.BaseHash != oldHash {
		return echo.NewHTTPError(http.StatusConflict, "the defect classes changed since you started editing (now "+oldHash+"); reload and edit again")
	}
	if _, err := s.prepare(cl, f); err != nil {
		return err
	}
	if err := writeAtomic(path+".bak", oldData); err != nil {
		return fmt.Errorf("keep a backup of the defect classes: %w", err)
	}
	if err := writeAtomic(path, []byte(req.YAML)); err != nil {
		return fmt.Errorf("write defect classes: %w", err)
	}
	if err := cl.Reload(); err != nil {
		if rerr := writeAtomic(path, oldData); rerr != nil {
			s.log.Error("could not restore the defect classes after a failed reload", "err", rerr)
		} else {
			cl.Reload()
		}
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "the appliance could not load the new classes; the previous file is back: "+err.Error())
	}
	var changes []string
	if old != nil {
		changes = diffClasses(old, f)
	}
	s.auditLog(c, users.AuditEntry{Action: "classes.save", Detail: req.Comment, FromHash: oldHash, ToHash: f.Hash(), Changes: changes})
	s.log.Info("defect classes saved", "user", whoName(c), "from", oldHash, "to", f.Hash())
	return c.JSON(http.StatusOK, map[string]string{"hash": f.Hash(), "previous_hash": oldHash})
}

// writeAtomic writes through a temporary file in the same directory and a
// rename, so a reader (the reload watcher) never sees half a file.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// diffClasses summarises what changed between two files for the audit log.
func diffClasses(a, b *defects.File) []string {
	var out []string
	classes := func(f *defects.File) map[string]defects.Class {
		m := map[string]defects.Class{}
		for name, set := range f.Sets {
			for _, c := range set.Classes {
				m[name+"/"+c.Name] = c
			}
		}
		return m
	}
	ca, cb := classes(a), classes(b)
	for k, x := range ca {
		y, ok := cb[k]
		switch {
		case !ok:
			out = append(out, k+": removed")
		case x.Threshold != y.Threshold:
			out = append(out, fmt.Sprintf("%s: threshold %g -> %g", k, x.Threshold, y.Threshold))
		}
		if ok && fmt.Sprint(x.Prompts) != fmt.Sprint(y.Prompts) {
			out = append(out, k+": prompts changed")
		}
	}
	for k := range cb {
		if _, ok := ca[k]; !ok {
			out = append(out, k+": added")
		}
	}
	for name, set := range b.Sets {
		if o, ok := a.Sets[name]; ok && o.Uncertain != set.Uncertain {
			out = append(out, fmt.Sprintf("%s: uncertain %s -> %s", name, o.Uncertain, set.Uncertain))
		}
	}
	if fmt.Sprint(a.Cameras) != fmt.Sprint(b.Cameras) {
		out = append(out, "camera mapping changed")
	}
	sort.Strings(out)
	return out
}
