package journal

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
)

// t0 is 2025-03-10 08:58:30 UTC: the test records straddle minutes and hours.
var t0 = time.Date(2025, 3, 10, 8, 58, 30, 0, time.UTC)

func testOptions(dir string) Options {
	return Options{Dir: dir, FlushInterval: 5 * time.Millisecond, KeepPassImages: 2, JPEGQuality: 80, ImageMaxSide: 32}
}

func mustOpen(t testing.TB, o Options) *Journal {
	t.Helper()
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the journal", j) })
	return j
}

// mustGet returns record id, failing the test if it cannot be read.
func mustGet(t testing.TB, j *Journal, id uint64) Record {
	t.Helper()
	r, err := j.Get(id)
	if err != nil {
		t.Fatalf("get record %d: %v", id, err)
	}
	return r
}

// mustQuery returns the page q selects, failing the test if the query fails.
func mustQuery(t testing.TB, j *Journal, q Query) Page {
	t.Helper()
	p, err := j.Query(q)
	if err != nil {
		t.Fatalf("query %+v: %v", q, err)
	}
	return p
}

func verdict(camera string, seq uint64, at time.Time, o defects.Outcome, class, part string) defects.Verdict {
	v := defects.Verdict{
		Camera: camera, Seq: seq, PartID: part, CapturedAt: at, InferredAt: at.Add(40 * time.Millisecond),
		Outcome: o, Action: defects.ActionPass, Class: class, Confidence: 0.75,
		Scores:      []defects.ClassScore{{Class: "good", Score: 0.75}, {Class: "scratch", Score: 0.25}},
		ModelDigest: "model-1", ConfigHash: "cfg-1", Latency: 40 * time.Millisecond,
		Embedding: []float32{float32(seq), 0.5, -1},
	}
	if o == defects.Missed {
		v.Class, v.Scores, v.Embedding, v.Reason, v.Confidence = "", nil, nil, "no frame", 0
	}
	return v
}

// testFrame is a w×h BGR frame of noise (noise makes JPEGs of a steady size).
func testFrame(w, h int, seed uint64) *frame.Frame {
	r := rand.New(rand.NewPCG(seed, 1))
	f := &frame.Frame{Width: w, Height: h, Stride: 3 * w, Pix: make([]byte, 3*w*h)}
	for i := range f.Pix {
		f.Pix[i] = byte(r.UintN(256))
	}
	return f
}

func write(t testing.TB, j *Journal, v defects.Verdict, f *frame.Frame) {
	t.Helper()
	if v.Outcome == defects.Missed {
		f = nil
	}
	if err := j.Write(context.Background(), &inspect.Result{Verdict: v, Frame: f}); err != nil {
		t.Fatal(err)
	}
}

// waitWritten waits until n records have been committed since Open.
func waitWritten(t testing.TB, j *Journal, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for j.Stats().Written < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records committed, want %d", j.Stats().Written, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// fixture writes the seven records the query and counter tests reason about:
//
//	id camera time      outcome   class   part image(keep 1 in 2 PASS per camera)
//	1  cam0   08:58:30  PASS      good    -    yes (first PASS of cam0)
//	2  cam0   08:59:10  FAIL      scratch P1   yes
//	3  cam1   09:00:00  PASS      good    P2   yes (first PASS of cam1)
//	4  cam1   09:00:30  UNCERTAIN scratch -    yes
//	5  cam0   10:03:30  FAIL      dent    P1   yes
//	6  cam0   10:04:30  MISSED    -       -    no frame
//	7  cam1   10:58:30  PASS      good    -    no (second PASS of cam1)
func fixture(t testing.TB, j *Journal) {
	t.Helper()
	rows := []defects.Verdict{
		verdict("cam0", 1, t0, defects.Pass, "good", ""),
		verdict("cam0", 2, t0.Add(40*time.Second), defects.Fail, "scratch", "P1"),
		verdict("cam1", 1, t0.Add(90*time.Second), defects.Pass, "good", "P2"),
		verdict("cam1", 2, t0.Add(2*time.Minute), defects.Uncertain, "scratch", ""),
		verdict("cam0", 3, t0.Add(65*time.Minute), defects.Fail, "dent", "P1"),
		verdict("cam0", 4, t0.Add(66*time.Minute), defects.Missed, "", ""),
		verdict("cam1", 3, t0.Add(2*time.Hour), defects.Pass, "good", ""),
	}
	for i, v := range rows {
		write(t, j, v, testFrame(64, 48, uint64(i)))
	}
	waitWritten(t, j, uint64(len(rows)))
}

func ids(p Page) []uint64 {
	out := make([]uint64, len(p.Records))
	for i, r := range p.Records {
		out[i] = r.ID
	}
	return out
}

func isErr(err, target error) bool { return errors.Is(err, target) }
