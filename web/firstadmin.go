package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/appliance/users"
)

// levelAccount is the access level of a route that any logged-in user may
// call, even one who must change their password first: changing it, and
// logging out.
const levelAccount = "account"

// mustChange refuses every route but levelAccount's to an account that
// must change its password, saying what to do.
func mustChange(id *identity, level string) error {
	if id.MustChange && level != levelAccount {
		return echo.NewHTTPError(http.StatusForbidden,
			"change your password first: until then this account may only change its password (POST /api/v1/auth/password), see who is logged in (GET /api/v1/auth/me) or log out")
	}
	return nil
}

// forgetInitialPassword is called after a password change.
func (s *Server) forgetInitialPassword() {
	if s.opts.InitialPasswordFile == "" {
		return
	}
	if err := users.ForgetInitialPassword(s.store, s.opts.InitialPasswordFile); err != nil {
		s.log.Error("initial admin password file not removed", "file", s.opts.InitialPasswordFile, "err", err)
	}
}
