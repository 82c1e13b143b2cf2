package escalation

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the frames arrive as JPEG
	_ "image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/metrics"
)

// Model is the server's model: it embeds images and prepares the scorer of a
// class set (through the prompt-embedding cache).
type Model interface {
	EmbedImages(imgs []image.Image) ([][]float32, error)
	Prepare(set *defects.ClassSet) (*defects.Scorer, error)
}

// Server answers escalations with its model.
type Server struct {
	token []byte
	model Model
	log   *slog.Logger

	// mu serialises inference: the model's preprocessing buffers and
	// session are shared.
	mu      sync.Mutex
	scorers map[string]*defects.Scorer // by config hash and camera's set
	order   []string                   // oldest first, for eviction

	Requests metrics.Counter
	Refused  metrics.Counter // wrong token
	Errors   metrics.Counter // malformed or unservable requests
	Latency  metrics.Histogram
}

// maxScorers bounds the scorers kept for clients' defect files.
const maxScorers = 32

// NewServer makes a server requiring token.
func NewServer(token string, m Model, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{token: []byte(token), model: m, log: log, scorers: map[string]*defects.Scorer{}}
}

// Handler is the HTTP handler: Path, and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+Path, s.escalate)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

type httpError struct {
	code int
	msg  string
}

func (e httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return httpError{code, fmt.Sprintf(format, args...)}
}

func (s *Server) escalate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.Requests.Inc()
	if !s.authorized(r) {
		s.Refused.Inc()
		s.log.Warn("escalation refused: wrong or missing token", "remote", r.RemoteAddr)
		http.Error(w, "wrong or missing token", http.StatusUnauthorized)
		return
	}
	v, err := s.judge(r)
	if err != nil {
		s.Errors.Inc()
		code := http.StatusInternalServerError
		var he httpError
		if errors.As(err, &he) {
			code = he.code
		}
		s.log.Warn("escalation not served", "remote", r.RemoteAddr, "status", code, "err", err)
		http.Error(w, err.Error(), code)
		return
	}
	s.Latency.Observe(time.Since(start))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && len(s.token) > 0 && subtle.ConstantTimeCompare([]byte(got), s.token) == 1
}

// judge reads the request and scores its image.
func (s *Server) judge(r *http.Request) (defects.Verdict, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxImageBytes+maxDefectsBytes+maxMetaBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return defects.Verdict{}, fail(http.StatusBadRequest, "want a multipart/form-data body: %v", err)
	}
	var meta Meta
	var yaml, jpeg []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return defects.Verdict{}, fail(http.StatusBadRequest, "read request: %v", err)
		}
		switch p.FormName() {
		case "meta":
			data, err := readPart(p, maxMetaBytes)
			if err == nil {
				err = json.Unmarshal(data, &meta)
			}
			if err != nil {
				return defects.Verdict{}, fail(http.StatusBadRequest, "meta: %v", err)
			}
		case "defects":
			if yaml, err = readPart(p, maxDefectsBytes); err != nil {
				return defects.Verdict{}, fail(http.StatusBadRequest, "defects: %v", err)
			}
		case "image":
			if jpeg, err = readPart(p, maxImageBytes); err != nil {
				return defects.Verdict{}, fail(http.StatusBadRequest, "image: %v", err)
			}
		}
	}
	if meta.Camera == "" || meta.ConfigHash == "" || yaml == nil || jpeg == nil {
		return defects.Verdict{}, fail(http.StatusBadRequest, "need the parts meta (with camera and config_hash), defects and image")
	}
	img, _, err := image.Decode(bytes.NewReader(jpeg))
	if err != nil {
		return defects.Verdict{}, fail(http.StatusBadRequest, "image: %v", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	scorer, err := s.scorer(meta, yaml)
	if err != nil {
		return defects.Verdict{}, err
	}
	emb, err := s.model.EmbedImages([]image.Image{img})
	if err != nil {
		return defects.Verdict{}, fmt.Errorf("embed image: %w", err)
	}
	res := scorer.Score(emb[0])
	return defects.Verdict{
		Camera: meta.Camera, Seq: meta.Seq, PartID: meta.PartID, CapturedAt: meta.CapturedAt,
		InferredAt: time.Now(), Outcome: res.Outcome, Action: res.Action, Class: res.Class,
		Confidence: res.Confidence, Scores: res.Scores, Reason: res.Reason,
		ModelDigest: scorer.ModelDigest(), ConfigHash: scorer.ConfigHash(),
	}, nil
}

func readPart(p *multipart.Part, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("over %d bytes", limit)
	}
	return data, err
}

// scorer returns the scorer for the client's defect file and camera,
// preparing it the first time. Called with mu held.
func (s *Server) scorer(meta Meta, yaml []byte) (*defects.Scorer, error) {
	f, err := defects.Parse("escalated defect classes", yaml)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}
	if f.Hash() != meta.ConfigHash {
		return nil, fail(http.StatusConflict, "the defect classes hash to %s, not %s", f.Hash(), meta.ConfigHash)
	}
	set, err := f.SetFor(meta.Camera)
	if err != nil {
		return nil, fail(http.StatusUnprocessableEntity, "%v", err)
	}
	key := f.Hash() + "/" + set.Name
	if sc, ok := s.scorers[key]; ok {
		return sc, nil
	}
	sc, err := s.model.Prepare(set)
	if err != nil {
		return nil, fmt.Errorf("prepare class set %q: %w", set.Name, err)
	}
	if len(s.order) == maxScorers {
		delete(s.scorers, s.order[0])
		s.order = s.order[1:]
	}
	s.scorers[key] = sc
	s.order = append(s.order, key)
	return sc, nil
}
