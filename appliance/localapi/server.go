package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/linesight/linesight/appliance/update"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
)

// Backend is what the running appliance serves: its journal, and its users'
// store when the dashboard is on.
type Backend struct {
	Journal *journal.Journal
	// Users is nil when the dashboard is off: the appliance does not hold
	// the store then, and `user add` opens it itself.
	Users *users.Store
	// UserChanged is called after an existing user got a new password and
	// role, to end the user's dashboard sessions; may be nil.
	UserChanged func(name string)
	// Golden manages the golden samples; nil when the appliance does not
	// (then `golden add|remove` change the files themselves).
	Golden *golden.Manager
	// Health is what the firmware update's health gate reads (`linesight
	// update gate`); nil answers 404.
	Health func() update.Health
	// Recipes changes the active recipe (`linesight recipe`); nil answers
	// 404.
	Recipes Recipes
	// Now is the clock for the users' timestamps (time.Now when nil).
	Now func() time.Time
}

// Recipes is the appliance's active recipe and how to change it.
type Recipes interface {
	Recipe() string
	Recipes() []string
	SetRecipe(name, by string) error
}

// RecipeRequest asks for the recipes, and to change the active one when Set
// names one.
type RecipeRequest struct {
	Set string `json:"set,omitempty"`
}

// RecipeReply is the active recipe and those that may be chosen, in order.
type RecipeReply struct {
	Recipe  string   `json:"recipe"`
	Recipes []string `json:"recipes"`
}

// Server serves a Backend on the data directory's socket.
type Server struct {
	path string
	sock os.FileInfo // the socket file this server made
	srv  *http.Server
	done chan error
	log  *slog.Logger
}

// maxRequest bounds a request body; the largest is a journal query.
const maxRequest = 64 << 10

// Start creates the socket in dataDir and serves b on it until Close. Call
// it only while holding the journal: its file lock is what says no other
// appliance runs on dataDir, so a socket already there is a stale one left
// by an appliance that was killed, and is replaced.
func Start(dataDir string, b Backend, log *slog.Logger) (*Server, error) {
	if b.Journal == nil {
		return nil, errors.New("local API: no journal")
	}
	if b.Now == nil {
		b.Now = time.Now
	}
	path := SocketPath(dataDir)
	ln, sock, err := listen(path)
	if err != nil {
		return nil, fmt.Errorf("local API socket %s: %w", path, err)
	}
	mux := http.NewServeMux()
	h := handlers{b: b, log: log}
	mux.HandleFunc("POST "+pathCounters, h.counters)
	mux.HandleFunc("POST "+pathQuery, h.query)
	mux.HandleFunc("POST "+pathUsers, h.setUser)
	mux.HandleFunc("POST "+pathAudit, h.postAudit)
	mux.HandleFunc("POST "+pathHealth, h.health)
	mux.HandleFunc("POST "+pathRecipe, h.recipe)
	mux.HandleFunc("POST "+pathGoldenAdd, h.goldenAdd)
	mux.HandleFunc("POST "+pathGoldenStatus, h.goldenStatus)
	mux.HandleFunc("POST "+pathGoldenRemove, h.goldenRemove)
	s := &Server{
		path: path, sock: sock, done: make(chan error, 1), log: log,
		// Each request is one short read or write: a client that idles or
		// trickles is dropped.
		srv: &http.Server{Handler: mux, ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute, IdleTimeout: time.Minute,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)},
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	log.Info("local API for the command line listening", "socket", path)
	return s, nil
}

// listen binds the socket in a private folder beside path, makes it the
// owner's alone and renames it into place, so there is no moment when
// another user could connect to it.
func listen(path string) (*net.UnixListener, os.FileInfo, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".s") // mode 0700
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	bind := filepath.Join(tmp, "s")
	for _, p := range []string{path, bind} {
		if len(p) > maxSocketPath {
			return nil, nil, fmt.Errorf("the path is %d bytes long, more than the %d a unix socket allows: use a shorter data_dir", len(p), maxSocketPath)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: bind, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	ln.SetUnlinkOnClose(false) // the socket moves; Close removes it by its final name
	if err := os.Chmod(bind, 0o600); err != nil {
		ln.Close()
		return nil, nil, err
	}
	if err := os.Rename(bind, path); err != nil {
		ln.Close()
		return nil, nil, err
	}
	sock, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, sock, nil
}

// Close stops serving, letting requests in progress finish for a few
// seconds, and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	// Only the socket this server made: never another's.
	if fi, lerr := os.Lstat(s.path); lerr == nil && os.SameFile(fi, s.sock) {
		os.Remove(s.path)
	}
	if err != nil {
		return fmt.Errorf("stop the local API: %w", err)
	}
	return nil
}

type handlers struct {
	b   Backend
	log *slog.Logger
}

func (h handlers) health(w http.ResponseWriter, r *http.Request) {
	if h.b.Health == nil {
		reply(w, http.StatusNotFound, errorReply{"the running appliance does not report its health"})
		return
	}
	var req struct{}
	if !decode(w, r, &req) {
		return
	}
	reply(w, http.StatusOK, h.b.Health())
}

func (h handlers) counters(w http.ResponseWriter, r *http.Request) {
	var req countersRequest
	if !decode(w, r, &req) {
		return
	}
	c, err := h.b.Journal.Counters(req.From, req.To)
	if err != nil {
		reply(w, http.StatusInternalServerError, errorReply{err.Error()})
		return
	}
	reply(w, http.StatusOK, c)
}

func (h handlers) query(w http.ResponseWriter, r *http.Request) {
	var q journal.Query
	if !decode(w, r, &q) {
		return
	}
	p, err := h.b.Journal.Query(q)
	if err != nil {
		reply(w, http.StatusInternalServerError, errorReply{err.Error()})
		return
	}
	reply(w, http.StatusOK, p)
}

func (h handlers) setUser(w http.ResponseWriter, r *http.Request) {
	if h.b.Users == nil {
		reply(w, http.StatusNotFound, errorReply{ErrNoUsers.Error()})
		return
	}
	var req userRequest
	if !decode(w, r, &req) {
		return
	}
	created, err := h.b.Users.SetUser(req.Name, req.Role, req.Password, "cli", h.b.Now())
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, users.ErrBadPassword), errors.Is(err, users.ErrBadRole), errors.Is(err, users.ErrBadUserName):
			status = http.StatusBadRequest
		case errors.Is(err, users.ErrLastAdmin):
			status = http.StatusConflict
		}
		reply(w, status, errorReply{err.Error()})
		return
	}
	if !created && h.b.UserChanged != nil {
		h.b.UserChanged(req.Name)
	}
	h.log.Info("user set from the command line", "user", req.Name, "role", req.Role, "created", created)
	reply(w, http.StatusOK, userReply{Created: created})
}

func (h handlers) postAudit(w http.ResponseWriter, r *http.Request) {
	if h.b.Users == nil {
		reply(w, http.StatusNotFound, errorReply{ErrNoUsers.Error()})
		return
	}
	var e users.AuditEntry
	if !decode(w, r, &e) {
		return
	}
	if e.Action == "" {
		reply(w, http.StatusBadRequest, errorReply{"an audit entry needs an action"})
		return
	}
	if err := h.b.Users.Audit(e); err != nil {
		reply(w, http.StatusInternalServerError, errorReply{err.Error()})
		return
	}
	reply(w, http.StatusOK, auditReply{})
}

// maxGoldenRequest bounds a golden add: the largest image, in base64.
const maxGoldenRequest = golden.MaxImageBytes/3*4 + 64<<10

// golden answers ErrNoGolden when the appliance does not manage the
// samples; nil then.
func (h handlers) golden(w http.ResponseWriter) *golden.Manager {
	if h.b.Golden == nil {
		reply(w, http.StatusNotImplemented, errorReply{ErrNoGolden.Error()})
	}
	return h.b.Golden
}

// goldenError answers a golden.Manager error with its status.
func goldenError(w http.ResponseWriter, err error) {
	reply(w, golden.HTTPStatus(err), errorReply{err.Error()})
}

// audit records a change made from the command line in the dashboard's
// audit log, when the appliance holds it.
func (h handlers) audit(action, detail string) {
	if h.b.Users == nil {
		return
	}
	if err := h.b.Users.Audit(users.AuditEntry{At: h.b.Now(), User: "cli", Action: action, Detail: detail}); err != nil {
		h.log.Warn("audit log: could not record a command-line change", "action", action, "error", err)
	}
}

func (h handlers) goldenAdd(w http.ResponseWriter, r *http.Request) {
	g := h.golden(w)
	if g == nil {
		return
	}
	var req goldenAddRequest
	if !decodeLimit(w, r, &req, maxGoldenRequest) {
		return
	}
	smp, err := g.Add(req.Set, req.Image, golden.Origin{By: req.By, Source: golden.SourceFile})
	if err != nil {
		goldenError(w, err)
		return
	}
	h.audit("golden.add", fmt.Sprintf("set %s: sample %s (file)", req.Set, smp.ID))
	reply(w, http.StatusOK, smp)
}

func (h handlers) goldenStatus(w http.ResponseWriter, r *http.Request) {
	g := h.golden(w)
	if g == nil {
		return
	}
	var req goldenSetRequest
	if !decode(w, r, &req) {
		return
	}
	if err := golden.CheckSet(g.SetNames(), req.Set); err != nil {
		goldenError(w, err)
		return
	}
	all, err := g.Status()
	if err != nil {
		goldenError(w, err)
		return
	}
	for _, s := range all {
		if s.Set == req.Set {
			reply(w, http.StatusOK, s)
			return
		}
	}
	goldenError(w, fmt.Errorf("set %q: %w", req.Set, golden.ErrBadSet))
}

func (h handlers) goldenRemove(w http.ResponseWriter, r *http.Request) {
	g := h.golden(w)
	if g == nil {
		return
	}
	var req goldenRemoveRequest
	if !decode(w, r, &req) {
		return
	}
	smp, err := g.Remove(req.Set, req.ID)
	if err != nil {
		goldenError(w, err)
		return
	}
	h.audit("golden.remove", fmt.Sprintf("set %s: sample %s", req.Set, smp.ID))
	reply(w, http.StatusOK, smp)
}

// decode reads a request body strictly, answering 400 when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeLimit(w, r, v, maxRequest)
}

func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		reply(w, http.StatusBadRequest, errorReply{"request is not the expected JSON: " + err.Error()})
		return false
	}
	return true
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// recipe reports the recipes and changes the active one, as user "cli"
// (the appliance audits it).
func (h handlers) recipe(w http.ResponseWriter, r *http.Request) {
	if h.b.Recipes == nil {
		reply(w, http.StatusNotFound, errorReply{"this appliance does not serve recipes"})
		return
	}
	var req RecipeRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Set != "" {
		if err := h.b.Recipes.SetRecipe(req.Set, "cli"); err != nil {
			reply(w, http.StatusConflict, errorReply{err.Error()})
			return
		}
	}
	reply(w, http.StatusOK, RecipeReply{Recipe: h.b.Recipes.Recipe(), Recipes: h.b.Recipes.Recipes()})
}
