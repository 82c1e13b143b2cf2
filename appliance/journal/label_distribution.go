package journal

import (
	"fmt"
	"math"
	"time"

	"github.com/linesight/linesight/defects"
)

// Histogram counts values in [0, 1] in equal bins: bin i holds
// [i/n, (i+1)/n), the last one also 1; values outside are clamped.
type Histogram struct {
	Counts []int `json:"counts"`
	N      int   `json:"n"`
}

func newHistogram(bins int) Histogram { return Histogram{Counts: make([]int, bins)} }

func (h *Histogram) add(x float64) {
	if math.IsNaN(x) {
		return
	}
	i := int(x * float64(len(h.Counts)))
	h.Counts[min(max(i, 0), len(h.Counts)-1)]++
	h.N++
}

// LabelSplit divides labelled records by their true class: Positive those
// that truly are the class (for the anomaly score: defective parts),
// Negative the others (good parts).
type LabelSplit struct {
	Positive Histogram `json:"positive"`
	Negative Histogram `json:"negative"`
}

func newSplit(bins int) LabelSplit {
	return LabelSplit{Positive: newHistogram(bins), Negative: newHistogram(bins)}
}

// ClassDistribution is how one class's probability spread over recent
// records and over labelled ones, with the threshold it decides at.
type ClassDistribution struct {
	Class     string     `json:"class"`
	Good      bool       `json:"good"`
	Threshold float64    `json:"threshold"`
	Recent    Histogram  `json:"recent"`
	Labelled  LabelSplit `json:"labelled"`
}

// AnomalyDistribution is the same for a set's anomaly score. Threshold is
// the one in force: the configured number, else the calibrated one of the
// newest record that carries an anomaly score (nil when none does yet).
type AnomalyDistribution struct {
	Threshold *float64   `json:"threshold"`
	Auto      bool       `json:"auto"`
	Recent    Histogram  `json:"recent"`
	Labelled  LabelSplit `json:"labelled"`
}

// Distribution is the score distributions of one class set.
type Distribution struct {
	Set  string    `json:"set"`
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	Bins int       `json:"bins"`
	// Recent counts the recent records read (newest first, at most the
	// limit: Truncated says the range held more); Labelled the labelled
	// ones, from the whole journal.
	Recent    int                  `json:"recent"`
	Truncated bool                 `json:"truncated"`
	Labelled  int                  `json:"labelled"`
	Classes   []ClassDistribution  `json:"classes"`
	Anomaly   *AnomalyDistribution `json:"anomaly,omitempty"`
}

// DistributionQuery selects what Distribution reads.
type DistributionQuery struct {
	Set *defects.ClassSet
	// InSet says whether a camera's frames are scored with Set.
	InSet func(camera string) bool
	// From and To bound the recent records' capture time ([From, To)).
	From, To time.Time
	// Bins is the histograms' bin count (20 when 0); Limit caps the recent
	// records read (10000 when 0), as it does the labelled ones.
	Bins, Limit int
}

// Distribution builds, for each class of a set, the histogram of its
// probability over the recent records of the set's cameras and over the
// labelled ones split by their true class, with the class's threshold; for
// a set with anomaly detection, the same for the anomaly score.
func (j *Journal) Distribution(q DistributionQuery) (Distribution, error) {
	if q.Bins <= 0 {
		q.Bins = 20
	}
	if q.Limit <= 0 {
		q.Limit = 10000
	}
	set := q.Set
	d := Distribution{Set: set.Name, From: q.From, To: q.To, Bins: q.Bins, Classes: []ClassDistribution{}}
	for _, c := range set.Classes {
		d.Classes = append(d.Classes, ClassDistribution{Class: c.Name, Good: c.Good, Threshold: c.Threshold,
			Recent: newHistogram(q.Bins), Labelled: newSplit(q.Bins)})
	}
	var latestThreshold *float64
	if set.Anomaly != nil {
		d.Anomaly = &AnomalyDistribution{Auto: set.Anomaly.Threshold == 0, Recent: newHistogram(q.Bins), Labelled: newSplit(q.Bins)}
		if !d.Anomaly.Auto {
			t := set.Anomaly.Threshold
			d.Anomaly.Threshold = &t
		}
	}
	scoreOf := func(r *Record, class string) (float64, bool) {
		for _, s := range r.Scores {
			if s.Class == class {
				return s.Score, true
			}
		}
		return 0, false
	}
	usable := func(r *Record) bool {
		return r.Outcome != defects.Missed && (q.InSet == nil || q.InSet(r.Camera))
	}

	// Recent records, newest first, so the first anomaly threshold seen is
	// the one in force.
	n := 0
	err := eachPage(j, Query{From: q.From, To: q.To, Limit: 1000}, func(r *Record) bool {
		if !usable(r) {
			return true
		}
		if n == q.Limit {
			d.Truncated = true
			return false
		}
		n++
		for i := range d.Classes {
			if x, ok := scoreOf(r, d.Classes[i].Class); ok {
				d.Classes[i].Recent.add(x)
			}
		}
		if d.Anomaly != nil && r.Anomaly != nil {
			d.Anomaly.Recent.add(r.Anomaly.Score)
			if latestThreshold == nil {
				t := r.Anomaly.Threshold
				latestThreshold = &t
			}
		}
		return true
	})
	if err != nil {
		return d, fmt.Errorf("score distribution of set %s: %w", set.Name, err)
	}
	d.Recent = n

	n = 0
	good := set.Good().Name
	err = eachPage(j, Query{Labelled: true, Limit: 1000}, func(r *Record) bool {
		if !usable(r) || r.Label == nil {
			return true
		}
		if n == q.Limit {
			return false
		}
		n++
		for i := range d.Classes {
			x, ok := scoreOf(r, d.Classes[i].Class)
			if !ok {
				continue
			}
			if r.Label.Class == d.Classes[i].Class {
				d.Classes[i].Labelled.Positive.add(x)
			} else {
				d.Classes[i].Labelled.Negative.add(x)
			}
		}
		if d.Anomaly != nil && r.Anomaly != nil {
			if r.Label.Class == good {
				d.Anomaly.Labelled.Negative.add(r.Anomaly.Score)
			} else {
				d.Anomaly.Labelled.Positive.add(r.Anomaly.Score)
			}
			if latestThreshold == nil {
				t := r.Anomaly.Threshold
				latestThreshold = &t
			}
		}
		return true
	})
	if err != nil {
		return d, fmt.Errorf("score distribution of set %s: %w", set.Name, err)
	}
	d.Labelled = n
	if d.Anomaly != nil && d.Anomaly.Auto {
		d.Anomaly.Threshold = latestThreshold
	}
	return d, nil
}

// eachPage pages through a query until f returns false.
func eachPage(j *Journal, q Query, f func(*Record) bool) error {
	for {
		p, err := j.Query(q)
		if err != nil {
			return err
		}
		for i := range p.Records {
			if !f(&p.Records[i]) {
				return nil
			}
		}
		if p.Next == "" {
			return nil
		}
		q.Cursor = p.Next
	}
}
