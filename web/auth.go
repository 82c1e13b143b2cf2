package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/linesight/linesight/appliance/users"
)

// Cookie and header names the front-end relies on (docs/api.md).
const (
	sessionCookie = "linesight_session"
	csrfCookie    = "linesight_csrf"
	csrfHeader    = "X-CSRF-Token"
	sessionTTL    = 12 * time.Hour
)

// identity is who makes a request.
type identity struct {
	Name  string
	Role  string
	CSRF  string // "" for Basic credentials, which need no CSRF token
	Token string // the session token; "" for Basic
	// MustChange: the account may only change its password (see mustChange).
	MustChange bool
}

type session struct {
	identity
	expires time.Time
}

// sessions live in memory: a restart logs everyone out, which is acceptable
// for an appliance and keeps stolen tokens from outliving the process.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, now: now}
}

func (s *sessions) create(u users.User) identity {
	id := identity{Name: u.Name, Role: u.Role, CSRF: randomToken(24), Token: randomToken(32), MustChange: u.MustChangePassword}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id.Token] = &session{identity: id, expires: s.now().Add(sessionTTL)}
	return id
}

// get returns a live session and slides its expiry.
func (s *sessions) get(token string) (identity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ss, ok := s.m[token]
	if !ok {
		return identity{}, false
	}
	if now.After(ss.expires) {
		delete(s.m, token)
		return identity{}, false
	}
	ss.expires = now.Add(sessionTTL)
	return ss.identity, true
}

func (s *sessions) end(token string) {
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
}

// endUser ends every session of a user (role or password changed, deleted).
func (s *sessions) endUser(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ss := range s.m {
		if ss.Name == name {
			delete(s.m, t)
		}
	}
}

func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for t, ss := range s.m {
		if now.After(ss.expires) {
			delete(s.m, t)
		}
	}
	return len(s.m)
}

func tooMany(c echo.Context, wait time.Duration) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	return echo.NewHTTPError(http.StatusTooManyRequests, "too many failed logins; wait and try again")
}

// identify finds who is calling: a session cookie or Basic credentials.
// It returns (nil, nil) for an anonymous request.
func (s *Server) identify(c echo.Context) (*identity, error) {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if id, ok := s.sessions.get(ck.Value); ok {
			return &id, nil
		}
	}
	name, password, ok := c.Request().BasicAuth()
	if !ok {
		return nil, nil
	}
	client := c.RealIP()
	if wait := s.limiter.blocked(client, name); wait > 0 {
		return nil, tooMany(c, wait)
	}
	u, err := s.store.Authenticate(name, password)
	if err != nil {
		s.limiter.fail(client, name)
		s.log.Warn("failed login", "user", name, "client", client, "via", "basic")
		return nil, echo.NewHTTPError(http.StatusUnauthorized, users.ErrWrongLogin.Error())
	}
	s.limiter.succeed(client, name)
	return &identity{Name: u.Name, Role: u.Role, MustChange: u.MustChangePassword}, nil
}

// access levels of a route: kiosk routes are read-only live views that a
// kiosk screen may see without login.
const (
	levelKiosk    = "kiosk"
	levelOperator = users.RoleOperator
	levelEngineer = users.RoleEngineer
	levelAdmin    = users.RoleAdmin
)

// guard enforces a route's level, and the CSRF token on every
// state-changing request made with a session.
func (s *Server) guard(level string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id, err := s.identify(c)
			if err != nil {
				return err
			}
			if id == nil {
				if level == levelKiosk && s.opts.Kiosk && c.Request().Method == http.MethodGet {
					return next(c)
				}
				return echo.NewHTTPError(http.StatusUnauthorized, "log in first")
			}
			if err := mustChange(id, level); err != nil {
				return err
			}
			need := level
			if need == levelKiosk || need == levelAccount {
				need = users.RoleOperator
			}
			if users.Rank(id.Role) < users.Rank(need) {
				return echo.NewHTTPError(http.StatusForbidden, "this needs the "+need+" role")
			}
			if id.Token != "" && unsafeMethod(c.Request().Method) {
				got := c.Request().Header.Get(csrfHeader)
				if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(id.CSRF)) != 1 {
					return echo.NewHTTPError(http.StatusForbidden, "CSRF token missing or wrong: send the X-CSRF-Token header")
				}
			}
			c.Set("who", id)
			return next(c)
		}
	}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// who is the caller of a guarded handler; nil for a kiosk screen.
func who(c echo.Context) *identity {
	id, _ := c.Get("who").(*identity)
	return id
}

func whoName(c echo.Context) string {
	if id := who(c); id != nil {
		return id.Name
	}
	return "kiosk"
}

// randomToken is n random bytes, base64url without padding: session and
// CSRF tokens.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}
