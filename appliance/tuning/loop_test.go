package tuning

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
	"github.com/linesight/linesight/pipeline/metrics"
)

type nopPre struct{}

func (nopPre) BGR(pix []byte, w, h, stride int, dst []float32) error {
	dst[0] = float32(pix[0])
	return nil
}

// fakeEncoder embeds every image on the first axis ("good"), counting its
// calls; a gate, when set, holds each call until a token arrives.
type fakeEncoder struct {
	name   string
	calls  atomic.Int64
	closed atomic.Bool
	gate   chan struct{}
}

func (e *fakeEncoder) Embed(px []float32, n int) ([]float32, error) {
	if e.gate != nil {
		<-e.gate
	}
	if e.closed.Load() {
		return nil, fmt.Errorf("%s: used after Close", e.name)
	}
	e.calls.Add(1)
	out := make([]float32, 2*n)
	for i := range n {
		out[2*i] = 1
	}
	return out, nil
}

func (e *fakeEncoder) Close() { e.closed.Store(true) }

type axisText struct{}

func (axisText) EmbedTexts(texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range texts {
		out[i] = []float32{float32(1 - i), float32(i)}
	}
	return out, nil
}

func testScorer(t *testing.T) *defects.Scorer {
	t.Helper()
	f, err := defects.Parse("classes.yaml", []byte(`version: 1
sets:
  parts:
    good: {prompts: ["a good part"], threshold: 0.5}
    defects: [{name: scratch, prompts: ["a scratched part"], threshold: 0.9}]
cameras: {default: parts}
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.SetFor("cam")
	if err != nil {
		t.Fatal(err)
	}
	s, err := defects.Prepare(set, nil, axisText{}, "sha256:test", 100)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type rig struct {
	loop *inspect.Loop
	sink *inspect.MemorySink
	pool *frame.Pool
	seq  uint64
	stop func()
}

func startLoop(t *testing.T, cam inspect.CameraOptions, batch int, wait time.Duration, emb inspect.Embedder) *rig {
	t.Helper()
	loop, err := inspect.New(inspect.Options{BatchSize: batch, BatchWait: wait, ImageSize: 2, Cameras: []inspect.CameraOptions{cam}}, emb, nopPre{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	loop.SetScorers(inspect.Scorers{cam.ID: testScorer(t)})
	r := &rig{loop: loop, sink: inspect.NewMemorySink(), pool: frame.NewPool(64)}
	loop.AddSink(r.sink, inspect.SinkOptions{Lossless: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := loop.Run(ctx); err != nil {
			t.Errorf("loop run: %v", err)
		}
	}()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

func (r *rig) submit(camera string, at time.Time) {
	f := r.pool.Get(2, 2, 6)
	r.seq++
	f.Camera, f.Seq, f.CapturedAt = camera, r.seq, at
	f.Pix[0] = byte(r.seq)
	r.loop.Submit(f)
}

func (r *rig) waitFor(t *testing.T, n int) []defects.Verdict {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if vs := r.sink.Verdicts(); len(vs) >= n {
			return vs
		}
		select {
		case <-r.sink.Changed():
		case <-deadline:
			t.Fatalf("have %d verdicts, want %d", len(r.sink.Verdicts()), n)
		}
	}
}

// reading reads the loop as the appliance's monitor does.
func reading(l *inspect.Loop, camera string) Reading {
	st := l.CameraStats(camera)
	return Reading{Latency: st.Latency.Snapshot(), Batches: l.Batches.Value(), Busy: l.Inference.Snapshot().Sum,
		Backlog: int(st.QueueDepth.Value()), Dropped: st.Dropped.Value()}
}

// fakeClock advances only when told.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// TestVariantSwapLosesNoTrigger swaps the encoder of a running loop, through
// the monitor, while triggers keep arriving; every trigger gets its verdict,
// in order, and the old encoder is closed and not used afterwards.
func TestVariantSwapLosesNoTrigger(t *testing.T) {
	heavy, light := &fakeEncoder{name: "fp32"}, &fakeEncoder{name: "int8"}
	cur := NewHandle(heavy)
	r := startLoop(t, inspect.CameraOptions{ID: "cam", Mode: inspect.Triggered, Queue: 256, TriggerTimeout: time.Minute}, 1, 0, cur)

	var swaps []string
	target := Target{
		Batching: r.loop.Batching, SetBatching: r.loop.SetBatching,
		SwapVariant: func(v string) error {
			next := NewHandle(map[string]*fakeEncoder{"fp32": heavy, "int8": light}[v])
			r.loop.SetEmbedder(next)
			cur.Retire(next)
			cur = next
			swaps = append(swaps, v)
			return nil
		},
	}
	// A synthetic reading: every window has parts far over the deadline.
	var late metrics.Histogram
	var batches uint64
	read := func() Reading {
		late.Observe(time.Second)
		batches++
		return Reading{Latency: late.Snapshot(), Batches: batches}
	}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	m := NewMonitor(Limits{MaxBatch: 1, Variants: []string{"fp32", "int8"}, Deadline: 100 * time.Millisecond, Headroom: 0.5, Settle: 1},
		0.95, time.Second, read, target, nil, clock.Now)

	const parts = 200
	start := time.Now()
	swapped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range parts {
			if i == parts/2 {
				<-swapped // the second half flows after the swap
			}
			at := start.Add(time.Duration(i) * time.Millisecond)
			if err := r.loop.Trigger("cam", fmt.Sprintf("P-%03d", i), at); err != nil {
				t.Error(err)
				return
			}
			r.submit("cam", at)
		}
	}()
	// Swap while triggers flow: once some verdicts are out.
	r.waitFor(t, 20)
	clock.now = clock.now.Add(time.Second)
	ch, ok := m.Step()
	close(swapped)
	if !ok || ch.To.Variant != 1 || len(swaps) != 1 {
		t.Fatalf("monitor did not swap: %v %+v %v", ok, ch, swaps)
	}
	wg.Wait()
	vs := r.waitFor(t, parts)
	for i, v := range vs {
		if v.PartID != fmt.Sprintf("P-%03d", i) || v.Outcome == defects.Missed {
			t.Fatalf("verdict %d: part %s outcome %s reason %q", i, v.PartID, v.Outcome, v.Reason)
		}
	}
	if len(vs) != parts {
		t.Errorf("%d verdicts for %d triggers", len(vs), parts)
	}
	if !heavy.closed.Load() || light.closed.Load() || light.calls.Load() == 0 {
		t.Errorf("after the swap: heavy closed %v, light closed %v, light calls %d", heavy.closed.Load(), light.closed.Load(), light.calls.Load())
	}
	if st := m.Status(); st.Variant != "int8" || st.ChangeCount != 1 || m.VariantGauge.Value() != 1 {
		t.Errorf("status %+v gauge %d", st, m.VariantGauge.Value())
	}
}

// TestSourceRateDrivesBatching: a camera that trickles frames gets batch 1;
// when it floods, the backlog doubles the batch window after window up to
// the configured size.
func TestSourceRateDrivesBatching(t *testing.T) {
	enc := &fakeEncoder{name: "fp32"}
	r := startLoop(t, inspect.CameraOptions{ID: "cam", Mode: inspect.FreeRun, Queue: 256}, 8, 5*time.Millisecond, enc)
	clock := &fakeClock{now: time.Unix(1000, 0)}
	target := Target{Batching: r.loop.Batching, SetBatching: r.loop.SetBatching}
	m := NewMonitor(Limits{MaxBatch: 8, MaxWait: 5 * time.Millisecond, Settle: 3, Headroom: 0.6},
		0.95, time.Second, func() Reading { return reading(r.loop, "cam") }, target, nil, clock.Now)
	step := func() {
		clock.now = clock.now.Add(time.Second)
		m.Step()
	}

	// Slow: one frame at a time, each inspected before the next.
	for i := range 6 {
		r.submit("cam", time.Now())
		r.waitFor(t, i+1)
	}
	step()
	if b, _ := r.loop.Batching(); b != 1 {
		t.Fatalf("after a trickle: batch %d, want 1 (%+v)", b, m.Status())
	}

	// Fast: the encoder is held while 60 frames arrive.
	enc.gate = make(chan struct{})
	r.submit("cam", time.Now()) // taken into a batch that waits on the gate
	for range 60 {
		r.submit("cam", time.Now())
	}
	var sizes []int
	for range 3 {
		step()
		b, _ := r.loop.Batching()
		sizes = append(sizes, b)
	}
	close(enc.gate)
	if fmt.Sprint(sizes) != "[2 4 8]" {
		t.Errorf("batch sizes under load %v, want [2 4 8]; status %+v", sizes, m.Status())
	}
	r.waitFor(t, 67)
}
