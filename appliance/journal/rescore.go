package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
)

// Flip is a change of verdict between the stored scoring and a rescoring.
type Flip struct {
	From      defects.Outcome `json:"from"`
	FromClass string          `json:"from_class"`
	To        defects.Outcome `json:"to"`
	ToClass   string          `json:"to_class"`
	Count     int             `json:"count"`
}

// RescoreReport compares stored verdicts with those new defect classes
// would have given the same embeddings.
type RescoreReport struct {
	From, To time.Time
	// Rescored counts the records scored again; Skipped those that could
	// not be (MISSED, no embedding, no class set for the camera, or an
	// embedding from another model than the scorer's).
	Rescored int `json:"rescored"`
	Skipped  int `json:"skipped"`
	// Before and After count outcomes of the rescored records.
	Before Counts `json:"before"`
	After  Counts `json:"after"`
	// Flips lists the verdicts whose outcome changed, most frequent first.
	Flips []Flip `json:"flips"`
}

// Rescore scores every stored embedding captured in [from, to) with the
// scorer scorerFor returns for its camera (nil: skip the camera), and
// reports what would change. It reads only: records stay as they were.
func (j *Journal) Rescore(from, to time.Time, scorerFor func(camera string) *defects.Scorer) (RescoreReport, error) {
	rep := RescoreReport{From: from, To: to}
	flips := map[Flip]int{}
	hi := timeKey(nil, to, 0)
	if to.IsZero() {
		hi = bytes.Repeat([]byte{0xff}, 16)
	}
	err := j.view(func(tx *bolt.Tx) error {
		records, embeddings := tx.Bucket(bucketRecords), tx.Bucket(bucketEmbeddings)
		c := tx.Bucket(bucketByTime).Cursor()
		var res defects.Result
		for k, v := c.Seek(timeKey(nil, from, 0)); k != nil && bytes.Compare(k, hi) < 0; k, v = c.Next() {
			s, ok := decodeSummary(v)
			id := binary.BigEndian.Uint64(k[8:])
			emb := embeddings.Get(u64(id))
			scorer := scorerFor(s.camera)
			if !ok || scorer == nil || len(emb) != 4*scorer.Dim() {
				rep.Skipped++
				continue
			}
			stored := decodeScoring(records.Get(u64(id)))
			if !RescoreInto(scorer, s.outcome, decodeEmbedding(emb), stored.ModelDigest, stored.Anomaly, &res) {
				rep.Skipped++
				continue
			}
			rep.Rescored++
			rep.Before.Count(s.outcome)
			rep.After.Count(res.Outcome)
			if res.Outcome != s.outcome {
				flips[Flip{From: s.outcome, FromClass: s.class, To: res.Outcome, ToClass: res.Class}]++
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("rescore journal: %w", err)
	}
	for f, n := range flips {
		f.Count = n
		rep.Flips = append(rep.Flips, f)
	}
	sort.Slice(rep.Flips, func(a, b int) bool {
		x, y := rep.Flips[a], rep.Flips[b]
		if x.Count != y.Count {
			return x.Count > y.Count
		}
		kx, _ := json.Marshal(x)
		ky, _ := json.Marshal(y)
		return string(kx) < string(ky)
	})
	return rep, nil
}

// RescoreInto writes into res what scorer makes of a stored verdict: the
// class-level result of its embedding with the anomaly rule applied to its
// stored anomaly score (defects.Anomaly.Rejudged). It reports false, and
// leaves res alone, when the verdict cannot be re-scored: a MISSED one, one
// without an embedding of the scorer's size, or one of another model than
// the scorer's, including one that names no model (nothing says which
// model's embedding it holds). The journal's Rescore and the dashboard's
// Try it both use it.
func RescoreInto(scorer *defects.Scorer, outcome defects.Outcome, embedding []float32, modelDigest string, anomaly *defects.Anomaly, res *defects.Result) bool {
	if outcome == defects.Missed || len(embedding) == 0 || len(embedding) != scorer.Dim() || modelDigest != scorer.ModelDigest() {
		return false
	}
	scorer.ScoreInto(embedding, res)
	res.ApplyAnomaly(anomaly.Rejudged(scorer.Set()))
	return true
}

// storedScoring is what re-scoring reads of a stored record besides its
// embedding.
type storedScoring struct {
	ModelDigest string           `json:"model_digest"`
	Anomaly     *defects.Anomaly `json:"anomaly"`
}

// decodeScoring reads the model digest and anomaly of a stored record; a
// record that does not decode has neither, and is skipped.
func decodeScoring(raw []byte) storedScoring {
	var s storedScoring
	if json.Unmarshal(raw, &s) != nil {
		return storedScoring{}
	}
	return s
}
