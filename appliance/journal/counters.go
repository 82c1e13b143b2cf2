package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
)

// Counts are inspections by outcome.
type Counts struct {
	Total     int64 `json:"total"`
	Pass      int64 `json:"pass"`
	Fail      int64 `json:"fail"`
	Uncertain int64 `json:"uncertain"`
	Missed    int64 `json:"missed"`
}

// Yield is PASS over all inspections (MISSED included); 0 when there are none.
func (c Counts) Yield() float64 {
	if c.Total == 0 {
		return 0
	}
	return float64(c.Pass) / float64(c.Total)
}

func (c *Counts) add(o Counts) {
	c.Total += o.Total
	c.Pass += o.Pass
	c.Fail += o.Fail
	c.Uncertain += o.Uncertain
	c.Missed += o.Missed
}

// Count adds one verdict of outcome o.
func (c *Counts) Count(o defects.Outcome) {
	c.Total++
	switch o {
	case defects.Pass:
		c.Pass++
	case defects.Fail:
		c.Fail++
	case defects.Uncertain:
		c.Uncertain++
	case defects.Missed:
		c.Missed++
	}
}

func (c Counts) encode() []byte {
	b := make([]byte, 0, 40)
	for _, v := range []int64{c.Total, c.Pass, c.Fail, c.Uncertain, c.Missed} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	return b
}

func decodeCounts(b []byte) Counts {
	if len(b) != 40 {
		return Counts{}
	}
	v := func(i int) int64 { return int64(binary.BigEndian.Uint64(b[8*i:])) }
	return Counts{v(0), v(1), v(2), v(3), v(4)}
}

// Counters summarise the inspections of a time range.
type Counters struct {
	// From and To are the range actually counted: the asked range widened
	// to whole minutes (whole hours beyond the minute aggregates' age);
	// zero where the range is unbounded.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Counts
	Yield    float64           `json:"yield"`
	ByClass  map[string]Counts `json:"by_class"`  // the deciding class ("" for MISSED)
	ByCamera map[string]Counts `json:"by_camera"` // camera id
}

// aggBatch accumulates one flush's counts per (minute or hour, camera,
// class), so each aggregate key is read and written once per flush.
type aggBatch map[string]Counts

func aggKey(start time.Time, camera, class string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(max(start.Unix(), 0)))
	k = append(k, camera...)
	k = append(k, 0)
	return append(k, class...)
}

func (a aggBatch) add(at time.Time, camera, class string, o defects.Outcome) {
	for _, k := range []string{"m" + string(aggKey(at.Truncate(time.Minute), camera, class)),
		"h" + string(aggKey(at.Truncate(time.Hour), camera, class))} {
		c := a[k]
		c.Count(o)
		a[k] = c
	}
}

func (a aggBatch) apply(tx *bolt.Tx) error {
	minute, hour := tx.Bucket(bucketAggMinute), tx.Bucket(bucketAggHour)
	for k, c := range a {
		b := minute
		if k[0] == 'h' {
			b = hour
		}
		key := []byte(k[1:])
		sum := decodeCounts(b.Get(key))
		sum.add(c)
		if err := b.Put(key, sum.encode()); err != nil {
			return fmt.Errorf("update counters: %w", err)
		}
	}
	return nil
}

// Counters counts the inspections captured in [from, to) from the
// aggregates, never from the records: the cost grows with the number of
// hours and cameras × classes in the range, not with the inspections. The
// range is widened to whole minutes; where minute aggregates have expired
// (older than max_age), to whole hours. A zero from or to is unbounded.
func (j *Journal) Counters(from, to time.Time) (Counters, error) {
	var out Counters
	err := j.view(func(tx *bolt.Tx) error {
		var err error
		out, err = counters(tx, from, to, j.minuteHorizon())
		return err
	})
	return out, err
}

func counters(tx *bolt.Tx, from, to, minuteHorizon time.Time) (Counters, error) {
	openFrom, openTo := from.IsZero(), to.IsZero()
	if from.IsZero() {
		from = time.Unix(0, 0)
	}
	if to.IsZero() {
		to = time.Unix(1<<40, 0) // far enough
	}
	from = from.Truncate(time.Minute)
	if t := to.Truncate(time.Minute); t.Before(to) {
		to = t.Add(time.Minute)
	}
	if from.Before(minuteHorizon) {
		from = from.Truncate(time.Hour)
	}
	if to.Before(minuteHorizon) {
		if t := to.Truncate(time.Hour); t.Before(to) {
			to = t.Add(time.Hour)
		}
	}
	out := Counters{From: from.UTC(), To: to.UTC(), ByClass: map[string]Counts{}, ByCamera: map[string]Counts{}}
	if openFrom {
		out.From = time.Time{}
	}
	if openTo {
		out.To = time.Time{}
	}
	if !to.After(from) {
		return out, nil
	}
	// Whole hours inside the range come from the hour aggregates, the
	// minutes at either edge from the minute aggregates.
	h0 := from.Truncate(time.Hour)
	if h0.Before(from) {
		h0 = h0.Add(time.Hour)
	}
	h1 := to.Truncate(time.Hour)
	sum := func(b *bolt.Bucket, lo, hi time.Time) {
		if !hi.After(lo) {
			return
		}
		end := uint64(hi.Unix())
		c := b.Cursor()
		for k, v := c.Seek(u64(uint64(max(lo.Unix(), 0)))); k != nil && binary.BigEndian.Uint64(k) < end; k, v = c.Next() {
			camera, class, _ := bytes.Cut(k[8:], []byte{0})
			n := decodeCounts(v)
			out.Counts.add(n)
			cc := out.ByCamera[string(camera)]
			cc.add(n)
			out.ByCamera[string(camera)] = cc
			kc := out.ByClass[string(class)]
			kc.add(n)
			out.ByClass[string(class)] = kc
		}
	}
	minute, hour := tx.Bucket(bucketAggMinute), tx.Bucket(bucketAggHour)
	if h0.Before(h1) {
		sum(minute, from, h0)
		sum(hour, h0, h1)
		sum(minute, h1, to)
	} else {
		sum(minute, from, to)
	}
	out.Yield = out.Counts.Yield()
	return out, nil
}
