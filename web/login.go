package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/linesight/linesight/appliance/users"
)

// bindJSON decodes a JSON body strictly: unknown fields are refused so a
// typo in a client does not silently do nothing.
func bindJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send Content-Type: application/json")
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body is too large")
		}
		if errors.Is(err, io.EOF) {
			return echo.NewHTTPError(http.StatusBadRequest, "request body is empty")
		}
		return echo.NewHTTPError(http.StatusBadRequest, "request body is not the expected JSON: "+err.Error())
	}
	return nil
}

type userView struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Server) login(c echo.Context) error {
	client := c.RealIP()
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if wait := s.limiter.blocked(client, req.Name); wait > 0 {
		return tooMany(c, wait)
	}
	u, err := s.store.Authenticate(req.Name, req.Password)
	if err != nil {
		s.limiter.fail(client, req.Name)
		s.log.Warn("failed login", "user", req.Name, "client", client)
		return echo.NewHTTPError(http.StatusUnauthorized, users.ErrWrongLogin.Error())
	}
	s.limiter.succeed(client, req.Name)
	id := s.sessions.create(u)
	s.setCookies(c, id.Token, id.CSRF, int(sessionTTL.Seconds()))
	s.log.Info("login", "user", u.Name, "client", client)
	return c.JSON(http.StatusOK, map[string]any{"user": userView{u.Name, u.Role}, "csrf_token": id.CSRF, "must_change_password": u.MustChangePassword})
}

func (s *Server) setCookies(c echo.Context, token, csrf string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.opts.TLS, SameSite: http.SameSiteStrictMode})
	c.SetCookie(&http.Cookie{Name: csrfCookie, Value: csrf, Path: "/", MaxAge: maxAge,
		Secure: s.opts.TLS, SameSite: http.SameSiteStrictMode})
}

func (s *Server) logout(c echo.Context) error {
	if id := who(c); id != nil && id.Token != "" {
		s.sessions.end(id.Token)
	}
	s.setCookies(c, "", "", -1)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	id, err := s.identify(c)
	if err != nil {
		return err
	}
	if id == nil {
		if s.opts.Kiosk {
			return c.JSON(http.StatusOK, map[string]any{"kiosk": true})
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "log in first")
	}
	out := map[string]any{"user": userView{id.Name, id.Role}, "kiosk": false, "must_change_password": id.MustChange}
	if id.CSRF != "" {
		out["csrf_token"] = id.CSRF
	}
	return c.JSON(http.StatusOK, out)
}

type passwordRequest struct {
	Old string `json:"old"`
	New string `json:"new"`
}

func (s *Server) changePassword(c echo.Context) error {
	var req passwordRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	id := who(c)
	client := c.RealIP()
	if wait := s.limiter.blocked(client, id.Name); wait > 0 {
		return tooMany(c, wait)
	}
	if _, err := s.store.Authenticate(id.Name, req.Old); err != nil {
		s.limiter.fail(client, id.Name)
		return echo.NewHTTPError(http.StatusForbidden, "the old password is wrong")
	}
	if _, err := s.store.UpdateUser(id.Name, "", req.New, s.now()); err != nil {
		return userError(err)
	}
	s.sessions.endUser(id.Name)
	s.auditLog(c, users.AuditEntry{Action: "user.password", Detail: id.Name})
	s.forgetInitialPassword()
	return c.NoContent(http.StatusNoContent)
}

// auditLog records a change; a failure to record is logged, not fatal to
// the change that already happened.
func (s *Server) auditLog(c echo.Context, e users.AuditEntry) {
	e.At, e.User = s.now().UTC(), whoName(c)
	if err := s.store.Audit(e); err != nil {
		s.log.Error("audit log not written", "action", e.Action, "err", err)
	}
}
