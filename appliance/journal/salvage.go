package journal

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/linesight/linesight/pipeline/boltfile"
)

// SalvageReport says what a journal file holds and what of it is readable.
type SalvageReport struct {
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	PageSize int    `json:"page_size"`
	// Opens says bbolt can open and map the file safely (meta pages sound,
	// the file as long as its last commit).
	Opens bool `json:"opens"`
	// Problems are the damage found: truncation and damaged pages, whose
	// part of the tree could not be read.
	Problems []string `json:"problems"`
	// LastID is the last record id committed; Saved the records read whole;
	// Undecodable those found but garbled.
	LastID      uint64 `json:"last_id"`
	Saved       int    `json:"saved"`
	Undecodable int    `json:"undecodable"`
	// FromPages counts the saved records the tree no longer reached, found
	// by reading every page; some may be older versions, or expired ones.
	FromPages int `json:"from_pages"`
	// Lost counts the ids from the oldest known (read, or named by the time
	// index) to LastID that could not be read. Older ids are taken as expired
	// by retention.
	Lost int `json:"lost"`
}

// Sound says no damage was found.
func (r SalvageReport) Sound() bool { return r.Opens && len(r.Problems) == 0 }

// Salvage reads a journal file page by page, without bbolt, and hands each
// readable record to emit (nil: only count), in id order. It never writes the
// file, so it works on a damaged journal set aside, or on a copy. Records
// come without their embeddings.
func Salvage(path string, emit func(*Record) error) (SalvageReport, error) {
	rep := SalvageReport{Path: path}
	// A file being written may show half-written pages: read it only
	// while no writer holds bbolt's lock.
	release, err := boltfile.Lock(path, false, 2*time.Second)
	if errors.Is(err, boltfile.ErrLocked) {
		return rep, fmt.Errorf("read journal %s: another process (a running appliance?) writes it; stop it first", path)
	}
	if err != nil {
		return rep, fmt.Errorf("read journal: %w", err)
	}
	defer release()
	f, err := boltfile.OpenDamaged(path)
	if err != nil {
		if isDamage(err) {
			rep.Problems = append(rep.Problems, err.Error())
			return rep, nil
		}
		return rep, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	rep.Size, rep.PageSize = f.Size(), f.Meta.PageSize
	if f.Truncated != nil {
		rep.Problems = append(rep.Problems, f.Truncated.Error())
	} else if err := boltfile.Preflight(path); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	} else {
		rep.Opens = true
	}
	// The first walk only counts and learns which ids the tree holds; the
	// records are emitted once the loose pages have been read too, so emit
	// sees every id once and in id order.
	known := map[uint64]bool{} // ids seen: true until saved
	sawRecords := false
	problems := f.Walk(func(e boltfile.Entry) bool {
		if len(e.Path) == 0 {
			if e.Bucket && string(e.Key) == string(bucketRecords) {
				rep.LastID, sawRecords = e.Sequence, true
			}
			return true
		}
		switch e.Path[0] {
		case string(bucketByTime):
			if len(e.Key) >= 8 {
				known[binary.BigEndian.Uint64(e.Key[len(e.Key)-8:])] = true
			}
		case string(bucketRecords):
			if len(e.Key) == 8 {
				known[binary.BigEndian.Uint64(e.Key)] = true
			}
			if r := decodeRecord(e); r == nil {
				rep.Undecodable++
			} else {
				rep.Saved++
				known[r.ID] = false // saved: not lost
			}
		}
		return true
	})
	rep.Problems = append(rep.Problems, problems...)
	// loose are the records the tree no longer reaches, in id order.
	var loose []*Record
	if len(rep.Problems) > 0 {
		// The tree lost some pages (a truncated file loses its root: bbolt
		// writes each commit's new pages at the end): look for records in
		// every leaf page. Of an id found more than once (freed pages hold
		// older versions), the version that records its publication wins.
		found := map[uint64]*Record{}
		f.Scan(func(e boltfile.Entry) {
			if len(e.Key) != 8 || !bytes.HasPrefix(e.Value, []byte(`{"id":`)) {
				return
			}
			if saved, ok := known[binary.BigEndian.Uint64(e.Key)]; ok && !saved {
				return
			}
			r := decodeRecord(e)
			if r == nil {
				return
			}
			if old := found[r.ID]; old == nil || (old.PublishedAt.IsZero() && !r.PublishedAt.IsZero()) {
				found[r.ID] = r
			}
		})
		for _, r := range found {
			loose = append(loose, r)
			known[r.ID] = false
		}
		slices.SortFunc(loose, func(a, b *Record) int { return cmp.Compare(a.ID, b.ID) })
		rep.Saved += len(loose)
		rep.FromPages = len(loose)
	}
	if emit != nil {
		if err := emitInOrder(f, loose, emit); err != nil {
			return rep, fmt.Errorf("write recovered records: %w", err)
		}
	}
	if !sawRecords && len(problems) == 0 {
		rep.Problems = append(rep.Problems, "no records bucket: not a journal of this schema")
	}
	oldest := rep.LastID
	for id := range known {
		oldest = min(oldest, id)
	}
	for _, notSaved := range known {
		if notSaved {
			rep.Lost++
		}
	}
	// Ids between the oldest known and the last, neither read nor indexed,
	// were in pages that could not be read.
	if rep.LastID > 0 && len(known) > 0 {
		if absent := int(rep.LastID-oldest+1) - len(known); absent > 0 && len(rep.Problems) > 0 {
			rep.Lost += absent
		}
	}
	return rep, nil
}

// decodeRecord is the record a records-bucket entry holds; nil when its key
// or value is not a whole record of that id.
func decodeRecord(e boltfile.Entry) *Record {
	if len(e.Key) != 8 {
		return nil
	}
	var r Record
	if err := json.Unmarshal(e.Value, &r); err != nil || r.ID != binary.BigEndian.Uint64(e.Key) {
		return nil
	}
	return &r
}

// emitInOrder walks the tree's records again, in id order, and merges the
// loose ones (sorted) in between.
func emitInOrder(f *boltfile.File, loose []*Record, emit func(*Record) error) error {
	var err error
	f.Walk(func(e boltfile.Entry) bool {
		if err != nil {
			return false
		}
		if len(e.Path) == 0 {
			return e.Bucket && string(e.Key) == string(bucketRecords)
		}
		r := decodeRecord(e)
		if r == nil {
			return true
		}
		for len(loose) > 0 && loose[0].ID < r.ID && err == nil {
			err, loose = emit(loose[0]), loose[1:]
		}
		if err == nil {
			err = emit(r)
		}
		return err == nil
	})
	for len(loose) > 0 && err == nil {
		err, loose = emit(loose[0]), loose[1:]
	}
	return err
}
