package journal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/pipeline/boltfile"
)

// ErrDamaged matches the errors of a journal file that cannot be read: it
// is truncated, or has garbage where bbolt expects its pages.
var ErrDamaged = boltfile.ErrDamaged

// DamagedSuffix, and a UTC time, is added to the names of a damaged journal
// and its images folder when they are set aside.
const DamagedSuffix = ".damaged-"

// stampLayout is the UTC time in the names of what is set aside; ".2",
// ".3"... follow it for a second damaged journal within a second.
const stampLayout = "20060102T150405Z"

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Quarantine is a damaged journal set aside in the data directory.
type Quarantine struct {
	Path   string    `json:"path"`             // the journal file, renamed
	Images string    `json:"images,omitempty"` // its images folder, renamed; "" if it had none
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"` // known when this process set it aside
}

// deepCheckMax is the largest file whose every page Open reads.
const deepCheckMax = 1 << 30

// checkFile says whether the journal file is sound enough for bbolt to map
// and write: its meta pages and length always, and, when deep and the file
// is at most deepCheckMax, every page of its tree. A missing or empty file
// is sound.
func checkFile(path string, deep bool, log *slog.Logger) error {
	if err := boltfile.Preflight(path); err != nil || !deep {
		return err
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		return nil
	}
	if st.Size() > deepCheckMax {
		log.Info("journal larger than the size whose pages are all read at start; its meta pages were checked",
			"size", st.Size(), "deep_check_max", deepCheckMax)
		return nil
	}
	start := time.Now()
	defer func() { log.Debug("journal pages checked", "size", st.Size(), "took", time.Since(start)) }()
	f, err := boltfile.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	problems := f.Walk(func(boltfile.Entry) bool { return true })
	if len(problems) == 0 {
		return nil
	}
	reason := strings.Join(problems[:min(len(problems), 3)], "; ")
	if len(problems) > 3 {
		reason += fmt.Sprintf(" (and %d more)", len(problems)-3)
	}
	return &boltfile.Damage{Path: path, Reason: reason}
}

// quarantine renames a damaged journal and its images folder aside, never
// deleting them, so a new journal can start and `linesight journal recover`
// can copy out what the old one still holds.
func (j *Journal) quarantine(damage error) error {
	at := j.opts.Now().UTC()
	stamp := at.Format(stampLayout)
	// Never over an earlier one (a rename replaces its target).
	for n := 2; exists(j.path+DamagedSuffix+stamp) || exists(j.imagesDir+DamagedSuffix+stamp); n++ {
		stamp = fmt.Sprintf("%s.%d", at.Format(stampLayout), n)
	}
	q := Quarantine{Path: j.path + DamagedSuffix + stamp, At: at, Reason: damage.Error()}
	if err := os.Rename(j.path, q.Path); err != nil {
		return fmt.Errorf("set the damaged journal aside: %w (it was: %v)", err, damage)
	}
	if _, err := os.Stat(j.imagesDir); err == nil {
		q.Images = j.imagesDir + DamagedSuffix + stamp
		if err := os.Rename(j.imagesDir, q.Images); err != nil {
			return fmt.Errorf("set the damaged journal's images aside: %w", err)
		}
		if err := os.MkdirAll(j.imagesDir, 0o755); err != nil {
			return fmt.Errorf("create journal folder: %w", err)
		}
	}
	j.quarantined = &q
	j.log.Error("journal damaged: set aside, a new journal is started; `linesight journal recover` copies out what it holds",
		"damaged", q.Path, "images", q.Images, "err", damage)
	return nil
}

// Quarantined lists the damaged journals set aside in the data directory,
// newest first. The journal_quarantined alarm holds while there is one:
// moving the file out of the data directory, once recovered, clears it.
func (j *Journal) Quarantined() []Quarantine {
	matches, _ := filepath.Glob(j.path + DamagedSuffix + "*")
	var out []Quarantine
	for _, m := range matches {
		stamp := strings.TrimPrefix(m, j.path+DamagedSuffix)
		at, err := time.Parse(stampLayout, stamp[:min(len(stamp), len(stampLayout))])
		if err != nil {
			continue
		}
		q := Quarantine{Path: m, At: at}
		if _, err := os.Stat(j.imagesDir + DamagedSuffix + stamp); err == nil {
			q.Images = j.imagesDir + DamagedSuffix + stamp
		}
		if j.quarantined != nil && j.quarantined.Path == m {
			q.Reason = j.quarantined.Reason
		}
		out = append(out, q)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].At.Equal(out[b].At) {
			return out[a].At.After(out[b].At)
		}
		return out[a].Path > out[b].Path // ".2" after the plain name
	})
	return out
}

// view runs a read transaction through guard: queries on a damaged page
// return an error rather than crash.
func (j *Journal) view(fn func(*bolt.Tx) error) error {
	err := j.guard(func() error { return j.db.View(fn) })
	if isDamage(err) {
		return fmt.Errorf("%w%s", err, damageHint(err))
	}
	return err
}

// guard runs a read of the file, turning bbolt's panics and faults on a
// damaged page into an error that matches ErrDamaged.
func (j *Journal) guard(read func() error) error {
	return boltfile.Guard(j.path, read)
}

// damagedRecord is the error of a record the indexes name but the file
// does not hold in a readable form.
func (j *Journal) damagedRecord(id uint64, err error) error {
	return &boltfile.Damage{Path: j.path, Reason: fmt.Sprintf("record %d cannot be read: %v", id, err)}
}

// isDamage tells a damaged file from other failures (a lock held, a newer
// schema).
func isDamage(err error) bool { return errors.Is(err, ErrDamaged) }
