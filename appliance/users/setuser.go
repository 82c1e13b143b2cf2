package users

import (
	"errors"
	"fmt"
	"time"
)

// SetUser is `linesight user add`: it creates the user, or gives an existing
// one the password and role, and records it in the audit log as done by by.
// The command runs it on the store file, or, while the appliance runs,
// through the appliance's local API on the appliance's open store.
func (s *Store) SetUser(name, role, password, by string, now time.Time) (created bool, err error) {
	action := "user.update"
	if _, err := s.User(name); errors.Is(err, ErrUnknownUser) {
		if _, err := s.AddUser(name, role, password, now); err != nil {
			return false, err
		}
		created, action = true, "user.add"
	} else if err != nil {
		return false, err
	} else if _, err := s.UpdateUser(name, role, password, now); err != nil {
		return false, err
	}
	if err := s.Audit(AuditEntry{At: now.UTC(), User: by, Action: action, Detail: name + " (" + role + ")"}); err != nil {
		return created, fmt.Errorf("audit log: %w", err)
	}
	return created, nil
}
