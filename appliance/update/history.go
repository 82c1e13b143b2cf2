package update

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// HistoryFile is the update history's name in the data directory. It is on
// the data partition, so it outlives the slots it tells about.
const HistoryFile = "firmware-updates.jsonl"

// Outcomes of an update, in the order they happen.
const (
	// OutcomeRefused: RAUC refused the bundle (signature, format, or
	// compatibility); nothing was written.
	OutcomeRefused = "refused"
	// OutcomeFailed: the bundle could not be fetched, or writing the slot
	// failed; the running slot stays the one to boot.
	OutcomeFailed = "failed"
	// OutcomeInstalled: written into the inactive slot, which boots next.
	OutcomeInstalled = "installed"
	// OutcomeGood: the slot booted and passed the health gate; kept.
	OutcomeGood = "good"
	// OutcomeGateFailed: the slot booted but failed the health gate; it is
	// not marked, and the bootloader falls back once its attempts run out.
	OutcomeGateFailed = "gate-failed"
	// OutcomeRolledBack: the box came up on another slot than the one
	// installed last: the new one failed and the bootloader fell back.
	OutcomeRolledBack = "rolled-back"
)

// Outcomes lists every outcome, for metrics that show zero counts too.
var Outcomes = []string{OutcomeRefused, OutcomeFailed, OutcomeInstalled, OutcomeGood, OutcomeGateFailed, OutcomeRolledBack}

// Entry is one step of the history.
type Entry struct {
	At      time.Time `json:"at"`
	User    string    `json:"user"` // who asked; "health-gate" for the gate
	Source  string    `json:"source,omitempty"`
	Version string    `json:"version,omitempty"`
	Slot    string    `json:"slot,omitempty"` // the slot written or booted
	Outcome string    `json:"outcome"`
	Error   string    `json:"error,omitempty"`
}

// History is the append-only update history, one JSON object per line.
// The appliance and the health gate (another process) both append: each
// entry is one write to a file opened for appending.
type History struct {
	path string
	mu   sync.Mutex
}

// OpenHistory is the history in dataDir.
func OpenHistory(dataDir string) *History {
	return &History{path: filepath.Join(dataDir, HistoryFile)}
}

// Path is the history's file.
func (h *History) Path() string { return h.path }

// Append adds an entry and syncs it to disk: it must survive the reboot
// into the new slot that usually follows.
func (h *History) Append(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("update history: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("update history %s: %w", h.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("update history %s: %w", h.path, err)
	}
	return f.Close()
}

// Entries returns the history, oldest first; none when there is no file.
// A line cut short by a power cut while it was written is skipped, since
// only the last line can be; any other bad line is an error.
func (h *History) Entries() ([]Entry, error) {
	f, err := os.Open(h.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update history: %w", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var bad error
	for n := 1; sc.Scan(); n++ {
		if bad != nil {
			return nil, bad
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			bad = fmt.Errorf("update history %s line %d: %w", h.path, n, err)
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("update history %s: %w", h.path, err)
	}
	return out, nil
}

// Counts is how many entries have each outcome, and the newest entry.
func Counts(entries []Entry) (map[string]int, *Entry) {
	counts := map[string]int{}
	for _, o := range Outcomes {
		counts[o] = 0
	}
	for _, e := range entries {
		counts[e.Outcome]++
	}
	if len(entries) == 0 {
		return counts, nil
	}
	last := entries[len(entries)-1]
	return counts, &last
}

// AuditDetail says what an install of source came to, for the audit log:
// the outcome, the version and slot written, RAUC's reason.
func AuditDetail(source string, e Entry) string {
	detail := fmt.Sprintf("%s: %s", source, e.Outcome)
	if e.Version != "" {
		detail += ", version " + e.Version + " in " + e.Slot
	}
	if e.Error != "" {
		detail += ": " + e.Error
	}
	return detail
}
