package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
)

// bucketLabels indexes the labelled records as by_time does (captured ns +
// id -> summary), so that eval and the score distributions find them
// without reading the whole journal. It is created by the first label: a
// journal without it simply has none.
var bucketLabels = []byte("labels")

// Label is an engineer's judgement of a journaled verdict: whether it was
// right, and the part's true class (the set's good class, one of its defect
// classes, or defects.AnomalyClass).
type Label struct {
	Correct bool      `json:"correct"`
	Class   string    `json:"class"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// ErrNotLabellable is returned for a record no label fits: a MISSED one,
// which judged nothing.
var ErrNotLabellable = errors.New("cannot be labelled")

// ErrNoLabel is returned when clearing a label a record does not have.
var ErrNoLabel = errors.New("has no label")

// LabelError is a label that does not fit its record: Msg says why;
// Accepted, when set, lists the true classes the record takes.
type LabelError struct {
	Msg      string
	Accepted []string
}

func (e *LabelError) Error() string {
	if len(e.Accepted) == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (accepted: %s)", e.Msg, strings.Join(e.Accepted, ", "))
}

// SetFor tells which class set scores a camera's frames now (the
// defect-class file's mapping), to validate a label against.
type SetFor func(camera string) (*defects.ClassSet, error)

// LabelClasses are the true classes a record of set may be labelled with:
// the good class, the defect classes in the file's order, then anomaly.
func LabelClasses(set *defects.ClassSet) []string {
	out := make([]string, 0, len(set.Classes)+1)
	for _, c := range set.Classes {
		out = append(out, c.Name)
	}
	if !slices.Contains(out, defects.AnomalyClass) {
		out = append(out, defects.AnomalyClass)
	}
	return out
}

// decidedClass is the class a verdict decided: the good class for PASS,
// the defect for FAIL; none for UNCERTAIN and MISSED. It is what a label's
// class is compared with, and what eval counts as the prediction.
func decidedClass(r *Record) (string, bool) {
	switch r.Outcome {
	case defects.Pass, defects.Fail:
		return r.Class, r.Class != ""
	}
	return "", false
}

// checkLabel validates l for r against the record camera's set and fills
// the class of a label that only says "right".
func checkLabel(r *Record, l *Label, setFor SetFor) error {
	if r.Outcome == defects.Missed {
		return fmt.Errorf("record %d is MISSED (no part was inspected): it %w", r.ID, ErrNotLabellable)
	}
	set, err := setFor(r.Camera)
	if err != nil {
		return &LabelError{Msg: fmt.Sprintf("record %d: camera %s: %v", r.ID, r.Camera, err)}
	}
	accepted := LabelClasses(set)
	decided, ok := decidedClass(r)
	if l.Class == "" {
		if !l.Correct {
			return &LabelError{Msg: fmt.Sprintf("record %d is marked wrong: give its true class", r.ID), Accepted: accepted}
		}
		if !ok {
			return &LabelError{Msg: fmt.Sprintf("record %d is UNCERTAIN: it decided no class, so it cannot be right; mark it wrong and give its true class", r.ID), Accepted: accepted}
		}
		l.Class = decided
	}
	if !slices.Contains(accepted, l.Class) {
		return &LabelError{Msg: fmt.Sprintf("record %d: %q is not a class of set %s", r.ID, l.Class, set.Name), Accepted: accepted}
	}
	switch {
	case l.Correct && !ok:
		return &LabelError{Msg: fmt.Sprintf("record %d is UNCERTAIN: it decided no class, so it cannot be right; mark it wrong and give its true class", r.ID)}
	case l.Correct && l.Class != decided:
		return &LabelError{Msg: fmt.Sprintf("record %d is marked right but its verdict is %s %s, not %s", r.ID, r.Outcome, decided, l.Class)}
	case !l.Correct && ok && l.Class == decided:
		return &LabelError{Msg: fmt.Sprintf("record %d is marked wrong but %s is the class its verdict decided", r.ID, l.Class)}
	}
	return nil
}

// SetLabel validates a label against the record's camera's class set and
// stores it with the record, replacing any earlier one; everything else in
// the record stays as it was. A label marked correct with no class takes
// the verdict's class. It returns the record as now stored.
func (j *Journal) SetLabel(id uint64, l Label, setFor SetFor) (Record, error) {
	if l.At.IsZero() {
		l.At = j.opts.Now()
	}
	l.At = l.At.UTC()
	var out Record
	err := j.update(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		if err := checkLabel(&r, &l, setFor); err != nil {
			return err
		}
		r.Label = &l
		if err := putRecordJSON(tx, &r); err != nil {
			return err
		}
		labels, err := tx.CreateBucketIfNotExists(bucketLabels)
		if err != nil {
			return fmt.Errorf("create the label index: %w", err)
		}
		sum := summary{r.Outcome, r.Camera, r.Class}.encode()
		if err := labels.Put(timeKey(nil, recordTime(&r.Verdict), id), sum); err != nil {
			return fmt.Errorf("index the label of record %d: %w", id, err)
		}
		out = r
		return nil
	})
	if err != nil {
		return Record{}, fmt.Errorf("label record %d: %w", id, err)
	}
	return out, nil
}

// ClearLabel removes a record's label and returns the record as it was.
func (j *Journal) ClearLabel(id uint64) (Record, error) {
	var before Record
	err := j.update(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		if r.Label == nil {
			return fmt.Errorf("record %d %w", id, ErrNoLabel)
		}
		before = r
		r.Label = nil
		if err := putRecordJSON(tx, &r); err != nil {
			return err
		}
		return deleteLabelIndex(tx, timeKey(nil, recordTime(&r.Verdict), id))
	})
	if err != nil {
		return Record{}, fmt.Errorf("clear the label of record %d: %w", id, err)
	}
	return before, nil
}

// LabelledGood reports whether an engineer confirmed the record's part
// good: its label's true class is set's good class. A PASS verdict is not
// enough on its own; that is the caller's rule.
func LabelledGood(r Record, set *defects.ClassSet) bool {
	return r.Label != nil && set != nil && len(set.Classes) > 0 && r.Label.Class == set.Good().Name
}

// ErrNotGoodPart is why a record cannot become a golden sample: nothing
// says its part is good.
var ErrNotGoodPart = errors.New("not a good part")

// GoldenCandidate says whether a record's image may become one of set's
// golden samples: an engineer labelled its part good, or, unlabelled, its
// verdict is PASS. A label overrides the verdict both ways: a false reject
// confirmed good is accepted, a PASS labelled defective is not. The
// caller checks that the image is still stored.
func GoldenCandidate(r Record, set *defects.ClassSet) error {
	switch {
	case r.Label != nil && LabelledGood(r, set):
		return nil
	case r.Label != nil:
		return fmt.Errorf("record %d is labelled %s by %s, %w for a golden sample", r.ID, r.Label.Class, r.Label.By, ErrNotGoodPart)
	case r.Outcome == defects.Pass:
		return nil
	}
	return fmt.Errorf("record %d is %s and not labelled good, %w for a golden sample", r.ID, r.Outcome, ErrNotGoodPart)
}

// deleteLabelIndex drops a record's entry from the label index, if any.
func deleteLabelIndex(tx *bolt.Tx, key []byte) error {
	b := tx.Bucket(bucketLabels)
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("remove label index entry: %w", err)
	}
	return nil
}

// update runs a read-write transaction beside the writer's (bbolt takes
// one at a time, so a label never interleaves with a flush's rewrite of
// the same record).
func (j *Journal) update(fn func(*bolt.Tx) error) error {
	if j.opts.ReadOnly {
		return errors.New("the journal is open read-only")
	}
	return j.guard(func() error { return j.db.Update(fn) })
}

func getRecord(tx *bolt.Tx, id uint64) (Record, error) {
	raw := tx.Bucket(bucketRecords).Get(u64(id))
	if raw == nil {
		return Record{}, fmt.Errorf("record %d: %w", id, ErrNotFound)
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return Record{}, fmt.Errorf("decode record %d: %w", id, err)
	}
	return r, nil
}

func putRecordJSON(tx *bolt.Tx, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record %d: %w", r.ID, err)
	}
	if err := tx.Bucket(bucketRecords).Put(u64(r.ID), b); err != nil {
		return fmt.Errorf("store record %d: %w", r.ID, err)
	}
	return nil
}
