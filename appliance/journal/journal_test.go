package journal

import (
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

func TestRecordsSurviveReopenWithEverythingStored(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, testOptions(dir))
	fixture(t, j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, testOptions(dir))

	r, err := j.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	want := verdict("cam0", 2, t0.Add(40*time.Second), defects.Fail, "scratch", "P1")
	if r.Camera != "cam0" || r.Seq != 2 || r.PartID != "P1" || !r.CapturedAt.Equal(want.CapturedAt) ||
		!r.InferredAt.Equal(want.InferredAt) || r.Outcome != defects.Fail || r.Class != "scratch" ||
		r.Confidence != 0.75 || r.ModelDigest != "model-1" || r.ConfigHash != "cfg-1" ||
		r.Latency != 40*time.Millisecond || !slices.Equal(r.Embedding, []float32{2, 0.5, -1}) ||
		len(r.Scores) != 2 || r.Scores[1] != (defects.ClassScore{Class: "scratch", Score: 0.25}) ||
		!r.PublishedAt.IsZero() {
		t.Errorf("record 2 = %+v", r)
	}
	if _, err := j.Get(8); !isErr(err, ErrNotFound) {
		t.Errorf("Get(8): %v, want ErrNotFound", err)
	}

	// Images: FAIL and UNCERTAIN always, PASS 1 in 2 per camera, none for MISSED.
	for id, want := range map[uint64]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: false, 7: false} {
		path, err := j.Image(id)
		if !want {
			if !isErr(err, ErrNoImage) {
				t.Errorf("Image(%d): %q, %v, want ErrNoImage", id, path, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Image(%d): %v", id, err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(f)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		// 64×48 scaled to a longest side of 32.
		if err != nil || cfg.Width != 32 || cfg.Height != 24 {
			t.Errorf("image %d: %dx%d, %v; want a 32x24 JPEG", id, cfg.Width, cfg.Height, err)
		}
	}

	// Ids go on after a restart.
	write(t, j, verdict("cam0", 9, t0.Add(3*time.Hour), defects.Pass, "good", ""), nil)
	waitWritten(t, j, 1)
	if got := j.Stats().LastID; got != 8 {
		t.Errorf("id after reopen %d, want 8", got)
	}
}

func TestQueriesAndPagination(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	fixture(t, j)
	for _, c := range []struct {
		name string
		q    Query
		want []uint64
	}{
		{"all, newest first", Query{}, []uint64{7, 6, 5, 4, 3, 2, 1}},
		{"oldest first", Query{Oldest: true}, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"camera", Query{Camera: "cam0"}, []uint64{6, 5, 2, 1}},
		{"outcome", Query{Outcome: defects.Fail}, []uint64{5, 2}},
		{"class", Query{Class: "scratch"}, []uint64{4, 2}},
		{"part", Query{PartID: "P1"}, []uint64{5, 2}},
		{"part, oldest first", Query{PartID: "P1", Oldest: true}, []uint64{2, 5}},
		{"part in range", Query{PartID: "P1", From: t0.Add(time.Hour)}, []uint64{5}},
		{"unknown part", Query{PartID: "P"}, nil},
		// [09:00:00, 10:03:30): 10:03:30 itself is out.
		{"time range", Query{From: t0.Add(90 * time.Second), To: t0.Add(65 * time.Minute)}, []uint64{4, 3}},
		{"range and camera", Query{From: t0.Add(time.Minute), Camera: "cam1", Outcome: defects.Pass}, []uint64{7, 3}},
	} {
		p, err := j.Query(c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(ids(p), c.want) || p.Next != "" {
			t.Errorf("%s: %v next %q, want %v", c.name, ids(p), p.Next, c.want)
		}
	}

	pages := func(q Query) [][]uint64 {
		var out [][]uint64
		for {
			p, err := j.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ids(p))
			if p.Next == "" {
				return out
			}
			q.Cursor = p.Next
		}
	}
	got := pages(Query{Limit: 3})
	if want := [][]uint64{{7, 6, 5}, {4, 3, 2}, {1}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("newest-first pages %v, want %v", got, want)
	}
	got = pages(Query{Limit: 3, Camera: "cam0", Oldest: true})
	if want := [][]uint64{{1, 2, 5}, {6}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("oldest-first cam0 pages %v, want %v", got, want)
	}
	got = pages(Query{Limit: 2, Camera: "cam0"})
	if want := [][]uint64{{6, 5}, {2, 1}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("a last page that is exactly full: %v, want %v", got, want)
	}
	if _, err := j.Query(Query{Cursor: "not-a-cursor"}); err == nil {
		t.Error("a bad cursor was accepted")
	}
}

func TestCountersFromAggregates(t *testing.T) {
	j := mustOpen(t, testOptions(t.TempDir()))
	fixture(t, j)
	all, err := j.Counters(time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Total: 7, Pass: 3, Fail: 2, Uncertain: 1, Missed: 1}); all.Counts != want || all.Yield != 3.0/7 {
		t.Errorf("all: %+v yield %v, want %+v yield 3/7", all.Counts, all.Yield, want)
	}
	wantCam := map[string]Counts{
		"cam0": {Total: 4, Pass: 1, Fail: 2, Missed: 1},
		"cam1": {Total: 3, Pass: 2, Uncertain: 1},
	}
	wantClass := map[string]Counts{
		"good":    {Total: 3, Pass: 3},
		"scratch": {Total: 2, Fail: 1, Uncertain: 1},
		"dent":    {Total: 1, Fail: 1},
		"":        {Total: 1, Missed: 1},
	}
	if !mapsEqual(all.ByCamera, wantCam) || !mapsEqual(all.ByClass, wantClass) {
		t.Errorf("by camera %v\nby class %v", all.ByCamera, all.ByClass)
	}

	for _, c := range []struct {
		name     string
		from, to time.Time
		want     Counts
		wantFrom time.Time
		wantTo   time.Time
	}{
		// 09:00:00–10:04:00: the 09 hour from its hour aggregate (ids 3, 4),
		// 10:00–10:04 from minutes (id 5).
		{"hour and minutes", t0.Add(90 * time.Second), t0.Add(65*time.Minute + 30*time.Second),
			Counts{Total: 3, Pass: 1, Fail: 1, Uncertain: 1}, t0.Add(90 * time.Second), t0.Add(65*time.Minute + 30*time.Second)},
		// 08:59:20–10:03:10 widens to 08:59–10:04: ids 2, 3, 4, 5.
		{"widened to minutes", t0.Add(50 * time.Second), t0.Add(64*time.Minute + 40*time.Second),
			Counts{Total: 4, Pass: 1, Fail: 2, Uncertain: 1}, t0.Add(30 * time.Second), t0.Add(65*time.Minute + 30*time.Second)},
		// Within one minute: 09:00:00–09:00:59 holds ids 3 and 4.
		{"one minute", t0.Add(90 * time.Second), t0.Add(100 * time.Second),
			Counts{Total: 2, Pass: 1, Uncertain: 1}, t0.Add(90 * time.Second), t0.Add(150 * time.Second)},
		// 11:58:30–12:58:30 widens to 11:58–12:59.
		{"nothing", t0.Add(3 * time.Hour), t0.Add(4 * time.Hour), Counts{}, t0.Add(3*time.Hour - 30*time.Second), t0.Add(4*time.Hour + 30*time.Second)},
	} {
		got, err := j.Counters(c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		if got.Counts != c.want || !got.From.Equal(c.wantFrom) || !got.To.Equal(c.wantTo) {
			t.Errorf("%s: %+v over %s–%s, want %+v over %s–%s", c.name, got.Counts, got.From, got.To, c.want, c.wantFrom, c.wantTo)
		}
	}
}

func mapsEqual(a, b map[string]Counts) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestImagePathIsSafe(t *testing.T) {
	got := imagePath(t0, "line1/cam 0", 42)
	if want := filepath.Join("2025-03-10", "42-line1_cam_0.jpg"); got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
