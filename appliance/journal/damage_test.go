package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/boltfile"
)

// bigJournal writes n records with 512-float embeddings (about 3 KB each)
// and closes the journal; it returns the file's bytes.
func bigJournal(t *testing.T, dir string, n int) []byte {
	t.Helper()
	// The records go in one commit, which Sync makes, not in as many as a
	// flush ticker happens to make between the writes: every page of theirs
	// then lies before the root page, which bbolt writes last.
	o := testOptions(dir)
	o.FlushInterval = time.Hour
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 1; i <= n; i++ {
		v := verdict("cam0", uint64(i), t0.Add(time.Duration(i)*time.Second), defects.Fail, "scratch", fmt.Sprintf("P-%05d", i))
		v.Embedding = make([]float32, 512)
		for k := range v.Embedding {
			v.Embedding[k] = float32(r.NormFloat64())
		}
		write(t, j, v, testFrame(64, 48, uint64(i)))
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := j.Stats().Written; w != uint64(n) {
		t.Fatalf("%d records written, want %d", w, n)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// garble overwrites the pages that hold record id's JSON with noise.
func garble(t *testing.T, data []byte, id int) []byte {
	t.Helper()
	needle := fmt.Appendf(nil, `{"id":%d,"`, id)
	if !bytes.Contains(data, needle) {
		t.Fatalf("record %d not found in the file", id)
	}
	// Every page that holds the record: bbolt copies a page on write and
	// frees the old one, and which copy is live depends on how the writer
	// batched, so the live one is among them, never only a stale copy.
	out := bytes.Clone(data)
	r := rand.New(rand.NewPCG(uint64(id), 7))
	for from := 0; ; {
		i := bytes.Index(data[from:], needle)
		if i < 0 {
			break
		}
		off := from + i
		for k := off / 4096 * 4096; k < (off/4096+1)*4096; k++ {
			out[k] = byte(r.UintN(256))
		}
		from = (off/4096 + 1) * 4096
	}
	return out
}

func TestOpenSetsATruncatedJournalAside(t *testing.T) {
	src := t.TempDir()
	data := bigJournal(t, src, 300)
	for _, size := range []int{100000, 16384, 8200, 5000, len(data) / 4, len(data) / 2} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, data[:size], 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, ImagesDir, "2025-03-10"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ImagesDir, "2025-03-10", "7-cam0.jpg"), []byte("jpeg"), 0o644); err != nil {
				t.Fatal(err)
			}

			// Read-only (the CLI): a clear error, the file untouched.
			_, err := Open(Options{Dir: dir, ReadOnly: true})
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "journal recover") {
				t.Fatalf("read-only open: %v, want a damaged-journal error naming journal recover", err)
			}

			o := testOptions(dir)
			o.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
			j := mustOpen(t, o)
			aside := path + DamagedSuffix + "20260102T030405Z"
			kept, err := os.ReadFile(aside)
			if err != nil || !bytes.Equal(kept, data[:size]) {
				t.Fatalf("damaged journal not set aside whole: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, ImagesDir+DamagedSuffix+"20260102T030405Z", "2025-03-10", "7-cam0.jpg")); err != nil {
				t.Errorf("its images were not set aside: %v", err)
			}
			q := j.Quarantined()
			if len(q) != 1 || q[0].Path != aside || q[0].Reason == "" {
				t.Fatalf("quarantined %+v", q)
			}
			// Damaged again within the same second: set aside beside the first.
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data[:size], 0o644); err != nil {
				t.Fatal(err)
			}
			j = mustOpen(t, o)
			if q := j.Quarantined(); len(q) != 2 || q[0].Path == q[1].Path {
				t.Fatalf("second damaged journal: quarantined %+v", q)
			}
			if kept, err := os.ReadFile(aside); err != nil {
				t.Fatal(err)
			} else if !bytes.Equal(kept, data[:size]) {
				t.Fatal("the first damaged journal was replaced")
			}
			// The new journal works.
			write(t, j, verdict("cam0", 1, t0, defects.Pass, "good", "new"), nil)
			waitWritten(t, j, 1)
			p, err := j.Query(Query{})
			if err != nil || len(p.Records) != 1 || p.Records[0].PartID != "new" {
				t.Fatalf("new journal: %v %+v", err, p)
			}
		})
	}
}

// Garbage in a middle page: the read-only queries say the journal is
// damaged instead of panicking; the appliance's open finds it and sets the
// file aside.
func TestGarbagePageInTheMiddle(t *testing.T) {
	dir := t.TempDir()
	data := garble(t, bigJournal(t, dir, 300), 150)
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open checks only the meta pages and the roots: %v", err)
	}
	_, err = ro.Query(Query{Oldest: true, Limit: 1000})
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("query over a garbage page: %v, want a damaged-journal error", err)
	}
	if _, err := ro.Get(150); !errors.Is(err, ErrDamaged) {
		t.Errorf("get of a record in a garbage page: %v, want a damaged-journal error", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	j := mustOpen(t, testOptions(dir))
	if q := j.Quarantined(); len(q) != 1 || !strings.Contains(q[0].Reason, "page") {
		t.Fatalf("quarantined %+v", q)
	}
	if p, err := j.Query(Query{}); err != nil || len(p.Records) != 0 {
		t.Errorf("new journal: %v, %d records", err, len(p.Records))
	}
}

func TestSalvage(t *testing.T) {
	dir := t.TempDir()
	data := bigJournal(t, dir, 300)
	path := filepath.Join(dir, FileName)

	// Not while a writer holds it: its pages may be half-written.
	writer := mustOpen(t, testOptions(dir))
	if _, err := Salvage(path, nil); err == nil || !strings.Contains(err.Error(), "writes it") {
		t.Errorf("salvage beside a writer: %v", err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}

	rep, err := Salvage(path, nil)
	if err != nil || !rep.Sound() || rep.Saved != 300 || rep.LastID != 300 || rep.Lost != 0 {
		t.Fatalf("sound journal: %v %+v", err, rep)
	}

	if err := os.WriteFile(path, garble(t, data, 150), 0o644); err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	rep, err = Salvage(path, func(r *Record) error { ids = append(ids, r.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sound() || len(rep.Problems) == 0 || rep.Saved != len(ids) || rep.Saved+rep.Lost != 300 || rep.Lost == 0 || rep.Saved < 250 {
		t.Errorf("garbage page: %+v (%d emitted)", rep, len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("records out of order: %v", ids)
		}
	}

	// Cut just before the root page (bbolt writes it last in a commit;
	// where the other pages lie is up to its map order): the tree is gone,
	// and each record in the pages left is read from them.
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := boltfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := int(f.Meta.Root) * f.Meta.PageSize
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	left := recordIDsIn(data[:cut])
	rep, err = Salvage(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Opens || !strings.Contains(strings.Join(rep.Problems, ";"), "truncated") || len(left) == 0 || rep.Saved != len(left) || rep.FromPages != rep.Saved {
		t.Errorf("truncated to %d of %d bytes, %d records left in it: %+v", cut, len(data), len(left), rep)
	}
}

// recordIDsIn is the ids of the records whose JSON the bytes hold.
func recordIDsIn(data []byte) map[int]bool {
	ids := map[int]bool{}
	for rest := data; ; {
		i := bytes.Index(rest, []byte(`{"id":`))
		if i < 0 {
			return ids
		}
		rest = rest[i+len(`{"id":`):]
		var id int
		if _, err := fmt.Sscanf(string(rest[:min(len(rest), 24)]), "%d,", &id); err == nil {
			ids[id] = true
		}
	}
}

// A journal another process holds is never judged nor set aside: its pages
// may be half-written. Here the garbage is real, but the holder (a reader)
// keeps the appliance from opening it at all.
func TestOpenDoesNotJudgeAHeldJournal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, garble(t, bigJournal(t, dir, 300), 150), 0o644); err != nil {
		t.Fatal(err)
	}
	reader, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the read-only journal", reader)
	_, err = Open(testOptions(dir))
	if err == nil || !strings.Contains(err.Error(), "holds it") {
		t.Errorf("open: %v, want another process holds it", err)
	}
	if aside, err := filepath.Glob(path + DamagedSuffix + "*"); err != nil {
		t.Fatal(err)
	} else if len(aside) > 0 {
		t.Errorf("a held journal was set aside: %v", aside)
	}
}
