package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AlarmEvent is an alarm raised, cleared or acknowledged: the journal keeps
// them beside the verdicts, for the alarm history and the shift reports.
type AlarmEvent struct {
	At       time.Time `json:"at"`
	Event    string    `json:"event"` // AlarmRaised, AlarmCleared or AlarmAcknowledged
	ID       string    `json:"id"`    // the alarm's id: kind, or kind:camera
	Kind     string    `json:"kind"`
	Severity string    `json:"severity"`
	Camera   string    `json:"camera,omitempty"`
	Message  string    `json:"message"`
	By       string    `json:"by,omitempty"` // who acknowledged
}

// Alarm event types.
const (
	AlarmRaised       = "raised"
	AlarmCleared      = "cleared"
	AlarmAcknowledged = "acknowledged"
)

// MaxAlarmEvents bounds the events kept; the oldest go first, as do those
// older than the journal's max_age.
const MaxAlarmEvents = 100000

// AddAlarmEvent stores an event, in its own transaction beside the
// writer's, and drops events past the journal's age and count limits.
func (j *Journal) AddAlarmEvent(e AlarmEvent) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode alarm event: %w", err)
	}
	cutoff := j.cutoff(j.opts.Now())
	return j.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAlarmEvents)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		key := binary.BigEndian.AppendUint64(nil, uint64(e.At.UnixNano()))
		key = binary.BigEndian.AppendUint64(key, seq)
		if err := b.Put(key, data); err != nil {
			return fmt.Errorf("store alarm event: %w", err)
		}
		excess := b.Stats().KeyN - MaxAlarmEvents
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			old := !cutoff.IsZero() && int64(binary.BigEndian.Uint64(k[:8])) < cutoff.UnixNano()
			if !old && excess <= 0 {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
			excess--
		}
		return nil
	})
}

// AlarmEvents returns the events from from to to (zero: unbounded), newest
// first, at most limit (0: all).
func (j *Journal) AlarmEvents(from, to time.Time, limit int) ([]AlarmEvent, error) {
	out := []AlarmEvent{}
	err := j.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAlarmEvents)
		if b == nil { // a file no appliance of this version has opened yet (read-only)
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if to.IsZero() {
			k, v = c.Last()
		} else {
			end := binary.BigEndian.AppendUint64(nil, uint64(to.UnixNano()))
			k, v = c.Seek(end)
			for k != nil && bytes.Compare(k[:8], end) >= 0 {
				k, v = c.Prev()
			}
			if k == nil {
				k, v = c.Last()
				for k != nil && bytes.Compare(k[:8], end) >= 0 {
					k, v = c.Prev()
				}
			}
		}
		for ; k != nil; k, v = c.Prev() {
			if !from.IsZero() && int64(binary.BigEndian.Uint64(k[:8])) < from.UnixNano() {
				break
			}
			var e AlarmEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode alarm event: %w", err)
			}
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	return out, err
}
