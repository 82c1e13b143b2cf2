package journal

import (
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal/tmpfs"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// logLines keeps the journal's log lines at Warn and above.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

// count is how many lines hold s; atLeastWarn counts only WARN and ERROR.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func (l *logLines) atLeastWarn() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.HasPrefix(line, "WARN") || strings.HasPrefix(line, "ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// checkNoPartialImages fails for empty or half-written image files.
func checkNoPartialImages(t *testing.T, j *Journal) {
	t.Helper()
	if err := filepath.WalkDir(j.imagesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if info.Size() == 0 || strings.HasSuffix(path, tmpSuffix) {
			t.Errorf("image file %s left with %d bytes", path, info.Size())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// On a full disk the journal holds a bounded batch, hands every verdict to
// the link, says so once, leaves no empty image behind, and commits again
// once space is freed.
func TestFullDiskDegradesAndRecovers(t *testing.T) {
	dir := tmpfs.Mount(t, 8<<20)
	logs := &logLines{}
	clock := &fakeClock{t: t0}
	o := testOptions(dir)
	o.MaxPending, o.Log, o.Now = 100, slog.New(logs), clock.Now
	// Sync drives every flush: what commits on a full disk depends on the
	// order of writes and flushes, which a ticker would leave to chance.
	o.FlushInterval = time.Hour
	j := mustOpen(t, o)
	ctx := context.Background()
	const before, full = 10, 1000
	for i := 1; i <= before; i++ {
		write(t, j, verdict("cam0", uint64(i), t0, defects.Pass, "good", ""), nil)
	}
	if err := j.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	filler := tmpfs.Fill(t, dir)
	for i := before + 1; i <= before+full; i++ {
		write(t, j, verdict("cam0", uint64(i), t0, defects.Fail, "scratch", ""), testFrame(64, 48, uint64(i)))
		if held := j.Stats().Held; held > o.MaxPending {
			t.Fatalf("%d records held in memory, over MaxPending %d", held, o.MaxPending)
		}
	}
	// Sync answers after the writer has taken every record written before
	// it; it cannot commit them.
	if err := j.Sync(ctx); err == nil {
		t.Fatal("Sync says the records are committed on a full disk")
	}
	// Each retry commits only what turning the journal's own oldest
	// records over makes room for, so flush after flush fails, and still
	// the log says it once.
	for try := 0; try < 100 && j.Stats().FlushErrors < 30; try++ {
		if err := j.Sync(ctx); err == nil {
			break
		}
	}
	if n := j.Stats().FlushErrors; n < 30 {
		t.Fatalf("%d flushes failed on a full disk, want many", n)
	}
	if j.Degraded() == "" {
		t.Fatal("the journal does not say it is degraded while it cannot commit")
	}
	st := j.Stats()
	if st.Held > o.MaxPending || st.NotJournaled == 0 {
		t.Errorf("held %d (max %d), not journaled %d: the batch is not bounded", st.Held, o.MaxPending, st.NotJournaled)
	}
	// Every verdict is on its way to the PLC: in the outbox or held for
	// the link in memory, once each, in id order.
	es, err := j.Pending(0, 2*full)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	unjournaled := 0
	for _, e := range es {
		got = append(got, e.ID)
		if e.NotJournaled {
			unjournaled++
		}
	}
	if len(got) != before+full || !slices.IsSorted(got) || got[0] != 1 || got[len(got)-1] != before+full {
		t.Fatalf("outbox and unjournaled verdicts hold %d ids (%v…), want 1-%d in order", len(got), got[:min(len(got), 5)], before+full)
	}

	if uint64(unjournaled) != st.Unjournaled || unjournaled < full-commitChunk {
		t.Errorf("%d verdicts marked not journaled, stats say %d", unjournaled, st.Unjournaled)
	}
	checkNoPartialImages(t, j)
	if lines := j.Stats().FlushErrors; len(logs.atLeastWarn()) > 3 {
		t.Errorf("%d warnings and errors for %d failed flushes: %q", len(logs.atLeastWarn()), lines, logs.atLeastWarn())
	}
	if n := logs.count("journal cannot commit"); n != 1 {
		t.Errorf("%d lines say the journal cannot commit, want 1", n)
	}

	// The link publishes them all (acks), then space comes back.
	for _, id := range got {
		if err := j.Ack(id, t0); err != nil {
			t.Fatal(err)
		}
	}
	filler.Remove()
	if err := j.Sync(ctx); err != nil {
		t.Fatalf("once space is back: %v", err)
	}
	if d := j.Degraded(); d != "" || j.Stats().Held != 0 {
		t.Fatalf("once space is back: degraded %q, %d records held", d, j.Stats().Held)
	}
	st = j.Stats()
	if st.Written+st.NotJournaled != before+full {
		t.Errorf("%d written + %d not journaled, want %d", st.Written, st.NotJournaled, before+full)
	}
	if n := logs.count("journal commits again"); n != 1 {
		t.Errorf("%d lines say commits resumed, want 1", n)
	}
	// New verdicts go the normal way again: journaled, then queued.
	write(t, j, verdict("cam0", 9999, t0, defects.Fail, "scratch", ""), testFrame(64, 48, 1))
	if err := j.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if w := j.Stats().Written; w != st.Written+1 {
		t.Errorf("%d records written after recovery, want %d", w, st.Written+1)
	}
	if es, err := j.Pending(0, 10); err != nil {
		t.Fatal(err)
	} else if len(es) != 1 || es[0].NotJournaled || es[0].ID != before+full+1 {
		t.Errorf("after recovery the outbox holds %+v, want just the new journaled verdict", es)
	}
	if _, err := j.Image(before + full + 1); err != nil {
		t.Errorf("the new verdict's image: %v", err)
	}
	checkNoPartialImages(t, j)
}

// A disk smaller than journal.max_mb: retention keeps the reserve free,
// evicting images as the size cap does (PASS first, then FAIL, oldest
// first), then, with no image left, turning the oldest records over, so
// commits never fail.
func TestJournalTurnsOverWithinASmallDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 3<<20)
	logs := &logLines{}
	o := testOptions(dir)
	o.KeepPassImages, o.ImageMaxSide, o.MaxBytes, o.Log = 1, 0, 10<<30, slog.New(logs)
	j := mustOpen(t, o)
	if logs.count("journal.max_mb is more than") != 1 {
		t.Errorf("no warning that max_mb exceeds the disk: %q", logs.lines)
	}
	// 30 PASS then FAIL parts, each with a ~30 KB image: 200 images are
	// about twice the disk.
	const n = 200
	for i := 1; i <= n; i++ {
		o := defects.Fail
		if i <= 30 {
			o = defects.Pass
		}
		write(t, j, verdict("cam0", uint64(i), t0.Add(time.Duration(i)*time.Second), o, "c", ""), testFrame(160, 160, uint64(i)))
		waitWritten(t, j, uint64(i))
	}
	st := j.Stats()
	if st.FlushErrors != 0 || st.ImageErrors != 0 || j.Degraded() != "" {
		t.Fatalf("flush errors %d, image errors %d, degraded %q: the reserve did not keep room", st.FlushErrors, st.ImageErrors, j.Degraded())
	}
	if st.EvictedPass != 30 || st.EvictedKept == 0 || st.EvictedRecords != 0 {
		t.Errorf("evicted %d PASS images, %d FAIL images and %d records; want all 30 PASS images, then old FAIL images, and every record kept",
			st.EvictedPass, st.EvictedKept, st.EvictedRecords)
	}
	if free := tmpfs.Free(t, dir); free < j.reserve/2 {
		t.Errorf("%d bytes free, reserve %d", free, j.reserve)
	}
	sizes := imageSizes(t, j)
	if _, ok := sizes[n]; !ok {
		t.Error("the newest record lost its image")
	}
	if _, ok := sizes[31]; ok {
		t.Error("the oldest FAIL image is kept while newer ones were evicted")
	}

	// Records alone outgrow the disk: the oldest go.
	for i := n + 1; i <= n+600; i++ {
		v := verdict("cam0", uint64(i), t0.Add(time.Duration(i)*time.Second), defects.Fail, "c", "")
		v.Embedding = make([]float32, 512)
		write(t, j, v, nil)
		waitWritten(t, j, uint64(i))
	}
	st = j.Stats()
	if st.FlushErrors != 0 || j.Degraded() != "" {
		t.Fatalf("flush errors %d, degraded %q: records did not turn over in time", st.FlushErrors, j.Degraded())
	}
	p, err := j.Query(Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p); st.EvictedRecords == 0 || got[0] != n+600 || slices.Contains(got, 1) || len(got)+int(st.EvictedRecords) != n+600 {
		t.Errorf("records left %v… (%d), evicted %d: want the newest kept, the oldest gone", got[:min(len(got), 5)], len(got), st.EvictedRecords)
	}
	checkNoPartialImages(t, j)
	if w := logs.count("below its reserve"); w != 1 {
		t.Errorf("%d lines say the disk is below its reserve, want 1: %q", w, logs.atLeastWarn())
	}
	if w := logs.atLeastWarn(); len(w) != 2 {
		t.Errorf("warnings: %q; want the max_mb one and the reserve one", w)
	}
}

// Stopping on a full disk loses at most MaxPending records from the
// journal, counted and logged once; what was committed opens cleanly.
func TestCloseOnFullDiskLosesAtMostMaxPending(t *testing.T) {
	dir := tmpfs.Mount(t, 8<<20)
	logs := &logLines{}
	o := testOptions(dir)
	o.MaxPending, o.Log = 50, slog.New(logs)
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	// No images before the disk fills: retention has no file to free.
	for i := 1; i <= 10; i++ {
		write(t, j, verdict("cam0", uint64(i), t0, defects.Fail, "scratch", ""), nil)
	}
	waitWritten(t, j, 10)
	filler := tmpfs.Fill(t, dir)
	for i := 11; i <= 500; i++ {
		write(t, j, verdict("cam0", uint64(i), t0, defects.Fail, "scratch", ""), testFrame(64, 48, uint64(i)))
	}
	testenv.WaitFor(t, "the condition", func() bool { return j.Degraded() != "" })
	// The writer has taken every record; the commit itself may fail on the full disk.
	if err := j.Sync(context.Background()); err != nil {
		t.Logf("sync: %v (expected while the disk is full)", err)
	}
	before := j.Stats()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	st := j.Stats()
	lost := st.NotJournaled - before.NotJournaled
	if st.Held != 0 || st.Written+st.NotJournaled != 500 || lost > uint64(o.MaxPending) {
		t.Errorf("written %d, not journaled %d (%d at Close), held %d after Close", st.Written, st.NotJournaled, lost, st.Held)
	}
	want := 0
	if lost > 0 {
		want = 1
	}
	if n := logs.count("journal closed with records not committed"); n != want {
		t.Errorf("%d lines report the %d records lost at Close, want %d", n, lost, want)
	}
	filler.Remove()
	o.Log = nil
	j = mustOpen(t, o)
	if got := j.Stats().LastID; got != st.LastID {
		t.Errorf("reopened at last id %d, want %d", got, st.LastID)
	}
	imageSizes(t, j) // every image file has its record
	checkNoPartialImages(t, j)
}

// A disk filled by something else: the journal turns over, old records
// making room for new ones, and never removes more than a chunk of old
// records beyond those it could replace.
func TestFullDiskTurnsTheJournalOver(t *testing.T) {
	dir := tmpfs.Mount(t, 8<<20)
	o := testOptions(dir)
	o.MaxPending = 100
	j := mustOpen(t, o)
	const before, full = 600, 1000
	for i := 1; i <= before; i++ {
		write(t, j, verdict("cam0", uint64(i), t0.Add(time.Duration(i)*time.Second), defects.Pass, "good", ""), nil)
	}
	waitWritten(t, j, before)
	tmpfs.Fill(t, dir)
	for i := before + 1; i <= before+full; i++ {
		write(t, j, verdict("cam0", uint64(i), t0.Add(time.Duration(i)*time.Second), defects.Fail, "scratch", ""), testFrame(64, 48, uint64(i)))
	}
	// The writer has taken every record; the commit itself may fail on the full disk.
	if err := j.Sync(context.Background()); err != nil {
		t.Logf("sync: %v (expected while the disk is full)", err)
	}
	testenv.WaitFor(t, "the condition", func() bool { return j.Stats().Flushes > 50 })
	st := j.Stats()
	if st.Written <= before {
		t.Errorf("nothing committed on the full disk: %+v", st)
	}
	if st.EvictedRecords > st.Written-before+commitChunk {
		t.Errorf("%d old records removed for %d committed since the disk filled", st.EvictedRecords, st.Written-before)
	}
	if j.Degraded() == "" {
		t.Error("the journal does not say it is degraded on a full disk")
	}
	if st.Held > o.MaxPending {
		t.Errorf("%d records held, over %d", st.Held, o.MaxPending)
	}
	p, err := j.Query(Query{Limit: 1})
	if err != nil || len(p.Records) != 1 || p.Records[0].ID <= before {
		t.Errorf("the newest record is %v (%v), want one written on the full disk", ids(p), err)
	}
	checkNoPartialImages(t, j)
}

// Without an MQTT link nothing is published, so the degraded reason, which
// the dashboard and /readyz show, must not say verdicts are.
func TestFullDiskWithoutMQTTSaysNothingIsPublished(t *testing.T) {
	dir := tmpfs.Mount(t, 8<<20)
	clock := &fakeClock{t: t0}
	o := testOptions(dir)
	o.NoOutbox, o.MaxPending, o.Now = true, 100, clock.Now
	j := mustOpen(t, o)
	filler := tmpfs.Fill(t, dir)
	for i := 1; i <= 200; i++ {
		write(t, j, verdict("cam0", uint64(i), t0, defects.Fail, "scratch", ""), testFrame(64, 48, uint64(i)))
	}
	testenv.WaitFor(t, "the condition", func() bool { return j.Degraded() != "" })
	if why := j.Degraded(); strings.Contains(why, "publish") || !strings.Contains(why, "cannot commit") {
		t.Errorf("degraded reason without MQTT: %q", why)
	}
	if st := j.Stats(); st.Unjournaled != 0 {
		t.Errorf("%d verdicts handed to a link that is not configured", st.Unjournaled)
	}
	filler.Remove()
	testenv.WaitFor(t, "the condition", func() bool { return j.Degraded() == "" })
}
