package journal

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
)

// ErrNotFound is returned for a record id the journal does not hold.
var ErrNotFound = errors.New("not in the journal")

// ErrNoImage is returned for a record without a stored image.
var ErrNoImage = errors.New("no image stored")

// Query selects records. Every field is optional.
type Query struct {
	// From and To bound the capture time: [From, To); zero is unbounded.
	From, To time.Time
	Camera   string
	Outcome  defects.Outcome
	Class    string
	PartID   string
	// Limit is the page size: 100 when 0, at most 10000.
	Limit int
	// Oldest lists oldest first; the default is newest first.
	Oldest bool
	// Cursor continues from a previous page's Next.
	Cursor string
}

// Page is one page of records; Next is "" after the last page.
type Page struct {
	Records []Record `json:"records"`
	Next    string   `json:"next,omitempty"`
}

// Query returns one page of the records that match q. Records are found
// through the time index (or the part index when PartID is set); camera,
// outcome and class are matched on the index entries, so only matching
// records are decoded.
func (j *Journal) Query(q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	var prefix []byte
	bucket := bucketByTime
	if q.PartID != "" {
		prefix, bucket = partPrefix(q.PartID), bucketByPart
	}
	lo, hi := timeKey(prefix, q.From, 0), timeKey(prefix, q.To, 0)
	if q.To.IsZero() {
		hi = append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 17)...)
	}
	if q.Cursor != "" {
		c, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || len(c) != 16 {
			return Page{}, fmt.Errorf("query journal: cursor %q is not one this journal gave", q.Cursor)
		}
		// The cursor is the last key returned; continue past it.
		if q.Oldest {
			lo = append(append(bytes.Clone(prefix), c...), 0)
		} else {
			hi = append(bytes.Clone(prefix), c...)
		}
	}
	var page Page
	err := j.view(func(tx *bolt.Tx) error {
		records := tx.Bucket(bucketRecords)
		c := tx.Bucket(bucket).Cursor()
		var k, v []byte
		var next func() ([]byte, []byte)
		var inRange func([]byte) bool
		if q.Oldest {
			k, v = c.Seek(lo)
			next, inRange = c.Next, func(k []byte) bool { return bytes.Compare(k, hi) < 0 }
		} else {
			// Seek finds the first key >= hi; the one before it is the
			// newest in range.
			if k, _ = c.Seek(hi); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
			next, inRange = c.Prev, func(k []byte) bool { return bytes.Compare(k, lo) >= 0 }
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && inRange(k); k, v = next() {
			s, ok := decodeSummary(v)
			if !ok || (q.Camera != "" && s.camera != q.Camera) || (q.Outcome != "" && s.outcome != q.Outcome) ||
				(q.Class != "" && s.class != q.Class) {
				continue
			}
			if len(page.Records) == limit {
				page.Next = base64.RawURLEncoding.EncodeToString(page.lastKey())
				return nil
			}
			id := binary.BigEndian.Uint64(k[len(k)-8:])
			var r Record
			if err := json.Unmarshal(records.Get(u64(id)), &r); err != nil {
				return j.damagedRecord(id, err)
			}
			if err := attachAnomalyMap(tx, &r); err != nil {
				return j.damagedRecord(id, err)
			}
			page.Records = append(page.Records, r)
		}
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("query journal: %w", err)
	}
	return page, nil
}

// lastKey is the index key of the page's last record, without the prefix.
func (p *Page) lastKey() []byte {
	r := p.Records[len(p.Records)-1]
	return timeKey(nil, recordTime(&r.Verdict), r.ID)
}

// Get returns a record with its embedding.
func (j *Journal) Get(id uint64) (Record, error) {
	var r Record
	err := j.view(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketRecords).Get(u64(id))
		if raw == nil {
			return fmt.Errorf("record %d: %w", id, ErrNotFound)
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return j.damagedRecord(id, err)
		}
		r.Embedding = decodeEmbedding(tx.Bucket(bucketEmbeddings).Get(u64(id)))
		if err := attachAnomalyMap(tx, &r); err != nil {
			return j.damagedRecord(id, err)
		}
		return nil
	})
	return r, err
}

// Image returns the path of a record's stored JPEG.
func (j *Journal) Image(id uint64) (string, error) {
	r, err := j.Get(id)
	if err != nil {
		return "", err
	}
	if r.Image == "" {
		return "", fmt.Errorf("record %d: %w", id, ErrNoImage)
	}
	return filepath.Join(j.imagesDir, r.Image), nil
}
