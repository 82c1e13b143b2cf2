package journal

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// imageSizes maps each record id with an image to its file size, and checks
// that the images folder holds exactly those files.
func imageSizes(t *testing.T, j *Journal) map[uint64]int64 {
	t.Helper()
	p, err := j.Query(Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]int64{}
	referenced := map[string]bool{}
	for _, r := range p.Records {
		if r.Image == "" {
			continue
		}
		st, err := os.Stat(filepath.Join(j.imagesDir, r.Image))
		if err != nil {
			t.Fatalf("record %d points at a missing image: %v", r.ID, err)
		}
		out[r.ID] = st.Size()
		referenced[r.Image] = true
	}
	if err := filepath.WalkDir(j.imagesDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, err := filepath.Rel(j.imagesDir, path)
			if err != nil {
				t.Fatal(err)
			}
			if !referenced[rel] {
				t.Errorf("image %s has no record", rel)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func sortedIDs(m map[uint64]int64) []uint64 {
	var out []uint64
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func TestEvictionTakesOldPassImagesFirst(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.KeepPassImages, o.ImageMaxSide = 1, 0
	j := mustOpen(t, o)
	// ids 1-3 PASS, 4-5 FAIL, 6 PASS, 7 UNCERTAIN; all keep a 160×160 noise
	// image (about 30 KB each, well over the slack below).
	outcomes := []defects.Outcome{defects.Pass, defects.Pass, defects.Pass, defects.Fail, defects.Fail, defects.Pass, defects.Uncertain}
	for i, o := range outcomes {
		write(t, j, verdict("cam0", uint64(i+1), t0.Add(time.Duration(i)*time.Minute), o, "c", ""), testFrame(160, 160, uint64(i)))
	}
	waitWritten(t, j, 7)
	sizes := imageSizes(t, j)
	t.Logf("image sizes %v", sizes)
	if len(sizes) != 7 {
		t.Fatalf("%d images before any cap, want 7", len(sizes))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// The cap leaves room for the file, the newest PASS image (6) and the
	// three failure images, with some slack for the file growing as the
	// eviction rewrites records: PASS images 1-3 go, oldest first.
	const slack = 8 << 10
	o.MaxBytes = fileSize(t, filepath.Join(dir, FileName)) + sizes[4] + sizes[5] + sizes[6] + sizes[7] + slack
	j = mustOpen(t, o)
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().Flushes > 0 })
	if got := sortedIDs(imageSizes(t, j)); !slices.Equal(got, []uint64{4, 5, 6, 7}) {
		t.Errorf("images kept %v, want [4 5 6 7]", got)
	}
	if s := j.Stats(); s.EvictedPass != 3 || s.EvictedKept != 0 {
		t.Errorf("evicted pass %d kept %d, want 3 and 0", s.EvictedPass, s.EvictedKept)
	}
	if _, err := j.Image(1); !isErr(err, ErrNoImage) {
		t.Errorf("record 1 after eviction: %v, want ErrNoImage", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// Room for the newest failure image only: PASS 6 goes, then failures
	// oldest first (4, 5), counted apart.
	o.MaxBytes = fileSize(t, filepath.Join(dir, FileName)) + sizes[7] + slack
	j = mustOpen(t, o)
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().Flushes > 0 })
	if got := sortedIDs(imageSizes(t, j)); !slices.Equal(got, []uint64{7}) {
		t.Errorf("images kept %v, want [7]", got)
	}
	if s := j.Stats(); s.EvictedPass != 1 || s.EvictedKept != 2 {
		t.Errorf("evicted pass %d kept %d, want 1 and 2", s.EvictedPass, s.EvictedKept)
	}
	// The records themselves stay.
	if p := mustQuery(t, j, Query{}); len(p.Records) != 7 {
		t.Errorf("%d records, want 7", len(p.Records))
	}
}

// fakeClock is a settable time for retention.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestMaxAgeExpiresRecordsImagesAndMinuteCounters(t *testing.T) {
	clock := &fakeClock{t: t0.Add(3 * time.Hour)} // 11:58:30
	o := testOptions(t.TempDir())
	o.MaxAge, o.Now = 2*time.Hour, clock.Now
	j := mustOpen(t, o)
	// The cutoff is 09:58:30: ids 1-4 (08:58:30-09:00:30) go at the first flush.
	fixture(t, j)
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().Expired == 4 })
	if p := mustQuery(t, j, Query{}); !slices.Equal(ids(p), []uint64{7, 6, 5}) {
		t.Errorf("records left %v, want [7 6 5]", ids(p))
	}
	if p := mustQuery(t, j, Query{PartID: "P1"}); !slices.Equal(ids(p), []uint64{5}) {
		t.Errorf("part index left %v, want [5]", ids(p))
	}
	if got := sortedIDs(imageSizes(t, j)); !slices.Equal(got, []uint64{5}) {
		t.Errorf("images left %v, want [5]", got)
	}
	// The verdicts not yet delivered are still owed to the line.
	if j.OutboxLen() != 7 {
		t.Errorf("outbox %d, want 7", j.OutboxLen())
	}
	// Counters outlive records: beyond the minute horizon they come from
	// the hour aggregates, so 08:59:20-09:00:40 widens to 08:00-10:00.
	c, err := j.Counters(t0.Add(50*time.Second), t0.Add(130*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Total: 4, Pass: 2, Fail: 1, Uncertain: 1}); c.Counts != want || !c.From.Equal(t0.Add(-58*time.Minute-30*time.Second)) {
		t.Errorf("old counters %+v from %s, want %+v from 08:00", c.Counts, c.From, want)
	}
}
