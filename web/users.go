package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/linesight/linesight/appliance/users"
)

// userError maps store errors to status codes.
func userError(err error) error {
	switch {
	case errors.Is(err, users.ErrUnknownUser):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, users.ErrUserExists), errors.Is(err, users.ErrLastAdmin):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case errors.Is(err, users.ErrBadPassword), errors.Is(err, users.ErrBadRole), errors.Is(err, users.ErrBadUserName):
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return err
}

func (s *Server) listUsers(c echo.Context) error {
	users, err := s.store.Users()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, users)
}

type userRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *Server) addUser(c echo.Context) error {
	var req userRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, err := s.store.AddUser(req.Name, req.Role, req.Password, s.now())
	if err != nil {
		return userError(err)
	}
	s.auditLog(c, users.AuditEntry{Action: "user.add", Detail: u.Name + " (" + u.Role + ")"})
	return c.JSON(http.StatusCreated, u)
}

func (s *Server) updateUser(c echo.Context) error {
	var req userRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	if req.Name != "" && req.Name != name {
		return echo.NewHTTPError(http.StatusBadRequest, "users cannot be renamed")
	}
	if req.Role == "" && req.Password == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "give a role and/or a password")
	}
	u, err := s.store.UpdateUser(name, req.Role, req.Password, s.now())
	if err != nil {
		return userError(err)
	}
	s.sessions.endUser(name)
	detail := name
	if req.Role != "" {
		detail += " role " + req.Role
	}
	if req.Password != "" {
		detail += " password changed"
	}
	s.auditLog(c, users.AuditEntry{Action: "user.update", Detail: detail})
	if req.Password != "" {
		s.forgetInitialPassword()
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) deleteUser(c echo.Context) error {
	name := c.Param("name")
	if err := s.store.DeleteUser(name); err != nil {
		return userError(err)
	}
	s.sessions.endUser(name)
	s.auditLog(c, users.AuditEntry{Action: "user.delete", Detail: name})
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) audit(c echo.Context) error {
	limit, err := intParam(c, "limit", 100, 1, 10000)
	if err != nil {
		return err
	}
	log, err := s.store.AuditLog(limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, log)
}

// EndSessions ends every dashboard session of a user whose password or role
// was changed outside the dashboard, as the dashboard does for its own
// changes: the user logs in again, with the new password and role.
func (s *Server) EndSessions(name string) { s.sessions.endUser(name) }
