package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

var benchDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range benchDirs {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(os.Stderr, "removing benchmark journal %s: %v\n", d, err)
			code = 1
		}
	}
	os.Exit(code)
}

// BenchmarkWriteWithImages measures records committed per second through
// Write, with 1280×960 frames scaled to 1024 and encoded at quality 85: one
// part in four FAILs (image kept), PASS images are kept 1 in 100.
func BenchmarkWriteWithImages(b *testing.B) {
	j, err := Open(Options{Dir: b.TempDir(), KeepPassImages: 100, JPEGQuality: 85, ImageMaxSide: 1024})
	if err != nil {
		b.Fatal(err)
	}
	f := testFrame(1280, 960, 7)
	emb := make([]float32, 768)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		o := defects.Pass
		if i%4 == 0 {
			o = defects.Fail
		}
		v := verdict("cam0", uint64(i+1), time.Now(), o, "c", "")
		v.Embedding = emb
		if err := j.Write(ctx, &inspect.Result{Verdict: v, Frame: f}); err != nil {
			b.Fatal(err)
		}
	}
	if err := j.Close(); err != nil { // Close commits the rest
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkEncodeJPEG is the image part of Write alone.
func BenchmarkEncodeJPEG(b *testing.B) {
	f := testFrame(1280, 960, 7)
	for b.Loop() {
		if _, err := encodeJPEG(f, 1024, 85); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	millionOnce sync.Once
	millionDir  string
)

// million builds (once per run) a journal of 1,000,000 records, one a
// second over 11.6 days, from 2 cameras and 4 classes, inserted directly in
// batches of 50,000 per transaction.
func million(b *testing.B) *Journal {
	millionOnce.Do(func() {
		dir, err := os.MkdirTemp("", "journal-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDirs = append(benchDirs, dir)
		db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error { _, err := prepareSchema(tx, "bench"); return err }); err != nil {
			b.Fatal(err)
		}
		outcomes := []defects.Outcome{defects.Pass, defects.Pass, defects.Pass, defects.Fail, defects.Uncertain}
		classes := []string{"good", "good", "good", "scratch", "dent"}
		const n, step = 1_000_000, 50_000
		for start := 0; start < n; start += step {
			batch := make([]*pending, 0, step)
			for i := start; i < start+step; i++ {
				v := verdict(fmt.Sprintf("cam%d", i%2), uint64(i), t0.Add(time.Duration(i)*time.Second), outcomes[i%5], classes[i%5], "")
				v.Embedding = nil
				p, err := newPending(uint64(i+1), v, "", 0)
				if err != nil {
					b.Fatal(err)
				}
				p.noOutbox = true
				batch = append(batch, p)
			}
			err := db.Update(func(tx *bolt.Tx) error {
				w := txWriter{tx: tx}
				if err := w.putRecords(batch); err != nil {
					return err
				}
				return tx.Bucket(bucketRecords).SetSequence(uint64(start + step))
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		millionDir = dir
	})
	j, err := Open(Options{Dir: millionDir, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { testenv.Close(b, "the journal", j) })
	return j
}

// BenchmarkCounters answers counters over a journal of 1,000,000 records.
func BenchmarkCounters(b *testing.B) {
	j := million(b)
	all := 1_000_000 * time.Second
	for _, c := range []struct {
		name     string
		from, to time.Time
	}{
		{"all-11.6days", t0, t0.Add(all)},
		{"one-day-unaligned", t0.Add(36*time.Hour + 17*time.Minute), t0.Add(60*time.Hour + 43*time.Minute)},
		{"one-hour", t0.Add(5 * time.Hour), t0.Add(6 * time.Hour)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var got Counters
			for b.Loop() {
				var err error
				if got, err = j.Counters(c.from, c.to); err != nil {
					b.Fatal(err)
				}
			}
			if c.name == "all-11.6days" && got.Total != 1_000_000 {
				b.Fatalf("total %d, want 1000000", got.Total)
			}
		})
	}
}

// BenchmarkQueryPage reads one page of 100 FAIL records, newest first, from
// the 1,000,000-record journal.
func BenchmarkQueryPage(b *testing.B) {
	j := million(b)
	for b.Loop() {
		p, err := j.Query(Query{Outcome: defects.Fail, Limit: 100})
		if err != nil || len(p.Records) != 100 {
			b.Fatal(len(p.Records), err)
		}
	}
}
