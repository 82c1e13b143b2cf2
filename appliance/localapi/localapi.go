// Package localapi lets the command line work beside a running appliance.
// While `linesight run` holds the journal and the users' store (bbolt lets
// one process have a file), it serves the operations of `linesight journal
// stats`, `journal export`, `user add` and `golden add|list|remove`, the
// audit entries of `model install`, `model rollback` and `update install`,
// and the health `update gate` reads, on a unix socket in
// the data directory, and the commands use it when it answers.
//
// The socket is its owner's alone (mode 0600). Whoever can reach it can read
// and write the data directory anyway, so reaching it is the authority, as
// for a local administrator: there is no login.
package localapi

import (
	"errors"
	"path/filepath"
	"time"
)

// SocketFile is the socket's name in the data directory.
const SocketFile = "linesight.sock"

// maxSocketPath is the longest path a unix socket address holds on Linux
// (sun_path is 108 bytes with the terminating NUL).
const maxSocketPath = 107

// SocketPath is the socket of the appliance running on dataDir.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketFile) }

// ErrNotRunning means no appliance answers on the data directory's socket:
// the command may open the files itself.
var ErrNotRunning = errors.New("no appliance is running on this data directory")

// ErrNoUsers means the running appliance has its dashboard off, so it does
// not hold the users' store: the command may open the store itself.
var ErrNoUsers = errors.New("the running appliance does not serve the users (its dashboard is off)")

// ErrNoGolden means the running appliance does not manage golden samples:
// the command may change the files itself.
var ErrNoGolden = errors.New("the running appliance does not manage golden samples")

// The requests; replies are journal.Counters, journal.Page, userReply, or
// errorReply with a status of 400 and above.
type (
	countersRequest struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	}
	userRequest struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	userReply struct {
		Created bool `json:"created"`
	}
	auditReply       struct{}
	goldenAddRequest struct {
		Set   string `json:"set"`
		By    string `json:"by"`
		Image []byte `json:"image"`
	}
	goldenSetRequest struct {
		Set string `json:"set"`
	}
	goldenRemoveRequest struct {
		Set string `json:"set"`
		ID  string `json:"id"`
	}
	errorReply struct {
		Error string `json:"error"`
	}
)

const (
	pathCounters = "/v1/journal/counters"
	pathQuery    = "/v1/journal/query"
	pathUsers    = "/v1/users"
	pathAudit    = "/v1/audit"
	pathHealth   = "/v1/health"
	pathRecipe   = "/v1/recipe"

	pathGoldenAdd    = "/v1/golden/add"
	pathGoldenStatus = "/v1/golden/status"
	pathGoldenRemove = "/v1/golden/remove"
)
