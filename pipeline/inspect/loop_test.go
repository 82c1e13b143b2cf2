package inspect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/frame"
)

// The fakes encode a frame's identity through the stages: the preprocessor
// copies the frame's first byte into the tensor, the embedder turns it into
// an embedding pointing at "good" (even) or "scratch" (odd). A verdict that
// ends up with another frame's outcome shows a pairing bug.
type fakePre struct{}

func (fakePre) BGR(pix []byte, w, h, stride int, dst []float32) error {
	if pix[0] == 255 {
		return errors.New("unreadable frame")
	}
	dst[0] = float32(pix[0])
	return nil
}

type fakeEmbedder struct {
	mu    sync.Mutex
	sizes []int
	gate  chan struct{} // when set, each Embed waits for a token
	fail  bool
	delay time.Duration // when set, each Embed takes this long
}

func (e *fakeEmbedder) Embed(px []float32, n int) ([]float32, error) {
	if e.gate != nil {
		<-e.gate
	}
	time.Sleep(e.delay)
	e.mu.Lock()
	e.sizes = append(e.sizes, n)
	e.mu.Unlock()
	if e.fail {
		return nil, errors.New("device lost")
	}
	per := len(px) / n
	out := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		if int(px[i*per])%2 == 0 {
			out[2*i] = 1
		} else {
			out[2*i+1] = 1
		}
	}
	return out, nil
}

func (e *fakeEmbedder) batchSizes() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.sizes...)
}

type axisEncoder struct{}

// EmbedTexts maps prompts about flaws to the second axis, the rest to the first.
func (axisEncoder) EmbedTexts(texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if strings.Contains(t, "scratch") {
			out[i] = []float32{0, 1}
		} else {
			out[i] = []float32{1, 0}
		}
	}
	return out, nil
}

func scorerFor(t *testing.T, goodPrompt string) *defects.Scorer {
	t.Helper()
	f, err := defects.Parse("classes.yaml", []byte(fmt.Sprintf(`version: 1
sets:
  parts:
    good: {prompts: [%q], threshold: 0.9}
    defects:
      - {name: scratch, prompts: ["a scratched part"], threshold: 0.9}
cameras: {default: parts}
`, goodPrompt)))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.SetFor("cam0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := defects.Prepare(set, nil, axisEncoder{}, "sha256:test", 100)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type harness struct {
	t      *testing.T
	loop   *Loop
	emb    *fakeEmbedder
	sink   *MemorySink
	pool   *frame.Pool
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned runErr
	runErr error
	seq    map[string]uint64
	t0     time.Time
}

func start(t *testing.T, opts Options, emb *fakeEmbedder) *harness {
	t.Helper()
	if opts.ImageSize == 0 {
		opts.ImageSize = 2
	}
	l, err := New(opts, emb, fakePre{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	scorer := scorerFor(t, "a good part")
	scorers := Scorers{}
	for _, c := range opts.Cameras {
		scorers[c.ID] = scorer
	}
	l.SetScorers(scorers)
	h := &harness{t: t, loop: l, emb: emb, sink: NewMemorySink(), pool: frame.NewPool(64),
		done: make(chan struct{}), seq: map[string]uint64{}, t0: time.Now()}
	l.AddSink(h.sink, SinkOptions{Lossless: true})
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.runErr = l.Run(ctx); close(h.done) }()
	t.Cleanup(h.stop)
	return h
}

// frame submits a frame whose first byte is b, captured at t0+at.
func (h *harness) frame(camera string, b byte, at time.Duration) uint64 {
	f := h.pool.Get(1, 1, 3)
	h.seq[camera]++
	f.Camera, f.Seq, f.CapturedAt = camera, h.seq[camera], h.t0.Add(at)
	f.Pix[0] = b
	h.loop.Submit(f)
	return f.Seq
}

func (h *harness) stop() {
	h.cancel()
	select {
	case <-h.done:
		if h.runErr != nil {
			h.t.Errorf("Run: %v", h.runErr)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatal("the loop did not stop")
	}
}

// wait returns once the sink holds n verdicts.
func (h *harness) wait(n int) []defects.Verdict {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if vs := h.sink.Verdicts(); len(vs) >= n {
			return vs
		}
		select {
		case <-h.sink.Changed():
		case <-deadline:
			h.t.Fatalf("waited for %d verdicts, have %d", n, len(h.sink.Verdicts()))
		}
	}
}

func freeRun(id string, queue int) CameraOptions {
	return CameraOptions{ID: id, Mode: FreeRun, Queue: queue}
}

func TestFreeRunInspectsEveryFrameInOrder(t *testing.T) {
	h := start(t, Options{BatchSize: 4, BatchWait: 5 * time.Millisecond, Cameras: []CameraOptions{freeRun("cam0", 64)}}, &fakeEmbedder{})
	for i := 0; i < 20; i++ {
		h.frame("cam0", byte(i), time.Duration(i)*time.Millisecond)
	}
	vs := h.wait(20)
	for i, v := range vs {
		want := defects.Pass
		if i%2 == 1 {
			want = defects.Fail
		}
		if v.Seq != uint64(i+1) || v.Outcome != want {
			t.Errorf("verdict %d: seq %d %s, want seq %d %s", i, v.Seq, v.Outcome, i+1, want)
		}
		if v.ModelDigest != "sha256:test" || v.ConfigHash == "" || len(v.Embedding) != 2 {
			t.Errorf("verdict %d lacks its provenance: %+v", i, v)
		}
	}
	if got := h.loop.CameraStats("cam0").Inspected.Value(); got != 20 {
		t.Errorf("inspected counter %d, want 20", got)
	}
}

func TestFreeRunDropsOldestWhenBehind(t *testing.T) {
	emb := &fakeEmbedder{gate: make(chan struct{})}
	h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{freeRun("cam0", 3)}}, emb)
	h.frame("cam0", 0, 0)
	// Wait until the first frame is held by the blocked encoder and the
	// collector has taken the second into the next batch buffer.
	h.frame("cam0", 1, time.Millisecond)
	testenv.WaitFor(t, "the condition", func() bool { return h.loop.CameraStats("cam0").QueueDepth.Value() == 0 })
	for i := 2; i < 10; i++ {
		h.frame("cam0", byte(i), time.Duration(i)*time.Millisecond)
	}
	// The queue holds 3: frames 7, 8, 9 (seq 8..10); frames 2..6 were dropped.
	close(emb.gate)
	vs := h.wait(5)
	var seqs []uint64
	for _, v := range vs {
		seqs = append(seqs, v.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 8 9 10]" {
		t.Errorf("inspected seqs %v, want [1 2 8 9 10]", seqs)
	}
	if d := h.loop.CameraStats("cam0").Dropped.Value(); d != 5 {
		t.Errorf("dropped %d, want 5", d)
	}
}

// The loop runs on synctest's clock, so "no further verdict" is checked after
// every goroutine has settled, not after a guessed pause.
func TestFreeRunRateCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{BatchSize: 8, BatchWait: time.Millisecond,
			Cameras: []CameraOptions{{ID: "cam0", Mode: FreeRun, Queue: 64, Rate: 20}}}, &fakeEmbedder{})
		// 30 frames 10 ms apart over 290 ms at 20/s (one per 50 ms): frames 0, 5, 10, ... 25.
		for i := 0; i < 30; i++ {
			h.frame("cam0", byte(i), time.Duration(i)*10*time.Millisecond)
		}
		vs := h.wait(6)
		time.Sleep(time.Second) // past any batch wait, on the bubble's clock
		synctest.Wait()
		if len(h.sink.Verdicts()) != 6 {
			t.Fatalf("%d verdicts, want 6", len(h.sink.Verdicts()))
		}
		for i, v := range vs {
			if v.Seq != uint64(5*i+1) {
				t.Errorf("verdict %d: seq %d, want %d", i, v.Seq, 5*i+1)
			}
		}
		if s := h.loop.CameraStats("cam0").Skipped.Value(); s != 24 {
			t.Errorf("skipped %d, want 24", s)
		}
	})
}

func triggered(id string, queue int) CameraOptions {
	return CameraOptions{ID: id, Mode: Triggered, Queue: queue, TriggerTimeout: 300 * time.Millisecond}
}

func TestTriggerTakesFirstFrameAtOrAfterItsTime(t *testing.T) {
	h := start(t, Options{BatchSize: 2, BatchWait: time.Millisecond, Cameras: []CameraOptions{triggered("cam0", 8)}}, &fakeEmbedder{})
	h.frame("cam0", 2, 0)
	h.frame("cam0", 3, 10*time.Millisecond)
	// Trigger after the frames it wants have arrived: served from history.
	if err := h.loop.Trigger("cam0", "P-1", h.t0.Add(5*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// Trigger ahead of its frame: served when the frame comes.
	if err := h.loop.Trigger("cam0", "P-2", h.t0.Add(30*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	h.frame("cam0", 4, 20*time.Millisecond) // before P-2: not inspected
	h.frame("cam0", 5, 30*time.Millisecond) // exactly at P-2's time
	vs := h.wait(2)
	if vs[0].PartID != "P-1" || vs[0].Seq != 2 || vs[0].Outcome != defects.Fail {
		t.Errorf("P-1: %+v, want seq 2 (the frame at 10 ms), FAIL", vs[0])
	}
	if vs[1].PartID != "P-2" || vs[1].Seq != 4 {
		t.Errorf("P-2: part %s seq %d, want seq 4 (the frame at 30 ms)", vs[1].PartID, vs[1].Seq)
	}
	if err := h.loop.Trigger("cam9", "x", time.Now()); err == nil {
		t.Error("trigger for an unknown camera accepted")
	}
}

func TestTriggersAreNeverSilentlyLost(t *testing.T) {
	emb := &fakeEmbedder{gate: make(chan struct{})}
	h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{triggered("cam0", 1)}}, emb)
	// Ten parts, one frame each, while the encoder is stuck: the queue takes
	// one, the collector holds one, the rest must come back MISSED.
	for i := 0; i < 10; i++ {
		at := time.Duration(i) * 10 * time.Millisecond
		if err := h.loop.Trigger("cam0", fmt.Sprintf("P-%d", i), h.t0.Add(at)); err != nil {
			t.Fatal(err)
		}
		h.frame("cam0", byte(2*i), at)
		if i == 0 {
			testenv.WaitFor(t, "the condition", func() bool { return h.loop.CameraStats("cam0").QueueDepth.Value() == 0 })
		}
	}
	// A trigger whose frame never comes times out.
	if err := h.loop.Trigger("cam0", "P-late", h.t0.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	close(emb.gate)
	vs := h.wait(11)
	parts := map[string]defects.Outcome{}
	for _, v := range vs {
		if _, dup := parts[v.PartID]; dup {
			t.Errorf("part %s has two verdicts", v.PartID)
		}
		parts[v.PartID] = v.Outcome
		if v.Outcome == defects.Missed && (v.Reason == "" || v.Action != defects.ActionReject) {
			t.Errorf("missed verdict without reason or reject action: %+v", v)
		}
	}
	if len(parts) != 11 {
		t.Fatalf("%d parts have verdicts, want all 11: %v", len(parts), parts)
	}
	if parts["P-0"] != defects.Pass || parts["P-late"] != defects.Missed {
		t.Errorf("P-0 %s (want PASS), P-late %s (want MISSED)", parts["P-0"], parts["P-late"])
	}
	st := h.loop.CameraStats("cam0")
	if st.Missed.Value()+st.Inspected.Value() != 11 || st.Missed.Value() < 8 {
		t.Errorf("missed %d + inspected %d, want 11 with at least 8 missed", st.Missed.Value(), st.Inspected.Value())
	}
}

func TestBatchesFillUpToSizeOrWait(t *testing.T) {
	emb := &fakeEmbedder{gate: make(chan struct{}, 100)}
	h := start(t, Options{BatchSize: 4, BatchWait: time.Hour,
		Cameras: []CameraOptions{freeRun("cam0", 16), freeRun("cam1", 16)}}, emb)
	for i := 0; i < 4; i++ {
		h.frame("cam0", byte(i), 0)
		h.frame("cam1", byte(i), 0)
	}
	for i := 0; i < 2; i++ {
		emb.gate <- struct{}{}
	}
	vs := h.wait(8)
	if got := fmt.Sprint(emb.batchSizes()); got != "[4 4]" {
		t.Errorf("batch sizes %s, want [4 4]: full batches across both cameras", got)
	}
	cams := map[string]int{}
	for _, v := range vs {
		cams[v.Camera]++
	}
	if cams["cam0"] != 4 || cams["cam1"] != 4 {
		t.Errorf("per camera %v", cams)
	}

	emb2 := &fakeEmbedder{}
	h2 := start(t, Options{BatchSize: 8, BatchWait: 20 * time.Millisecond, Cameras: []CameraOptions{freeRun("cam0", 16)}}, emb2)
	for i := 0; i < 3; i++ {
		h2.frame("cam0", byte(i), 0)
	}
	h2.wait(3)
	if got := fmt.Sprint(emb2.batchSizes()); got != "[3]" {
		t.Errorf("batch sizes %s, want [3]: a partial batch once the wait is over", got)
	}
}

func TestScorerSwapTakesEffectBetweenFrames(t *testing.T) {
	h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{freeRun("cam0", 8)}}, &fakeEmbedder{})
	h.frame("cam0", 0, 0)
	first := h.wait(1)[0].ConfigHash
	h.loop.SetScorers(Scorers{"cam0": scorerFor(t, "a flawless part")})
	h.frame("cam0", 0, time.Millisecond)
	second := h.wait(2)[1].ConfigHash
	if first == second {
		t.Error("verdicts after the swap still carry the old config hash")
	}
}

func TestFailuresBecomeMissedVerdicts(t *testing.T) {
	h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{triggered("cam0", 8)}}, &fakeEmbedder{fail: true})
	if err := h.loop.Trigger("cam0", "P-1", h.t0); err != nil {
		t.Fatal(err)
	}
	h.frame("cam0", 0, 0)
	v := h.wait(1)[0]
	if v.Outcome != defects.Missed || !strings.Contains(v.Reason, "device lost") || v.PartID != "P-1" {
		t.Errorf("inference error: %+v", v)
	}

	h2 := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{triggered("cam0", 8)}}, &fakeEmbedder{})
	if err := h2.loop.Trigger("cam0", "P-2", h2.t0); err != nil {
		t.Fatal(err)
	}
	h2.frame("cam0", 255, 0) // the fake preprocessor rejects it
	v = h2.wait(1)[0]
	if v.Outcome != defects.Missed || !strings.Contains(v.Reason, "unreadable") {
		t.Errorf("preprocess error: %+v", v)
	}
}

func TestShutdownFinishesAcceptedFrames(t *testing.T) {
	emb := &fakeEmbedder{gate: make(chan struct{})}
	h := start(t, Options{BatchSize: 2, BatchWait: time.Millisecond,
		Cameras: []CameraOptions{freeRun("cam0", 16), triggered("cam1", 8)}}, emb)
	for i := 0; i < 7; i++ {
		h.frame("cam0", byte(i), 0)
	}
	if err := h.loop.Trigger("cam1", "P-waiting", h.t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the condition", func() bool { return len(emb.batchSizes()) == 0 && h.loop.CameraStats("cam0").QueueDepth.Value() < 7 })
	h.cancel()
	close(emb.gate)
	<-h.done
	vs := h.sink.Verdicts()
	inspected, missed := 0, 0
	for _, v := range vs {
		switch {
		case v.Camera == "cam0" && v.Outcome != defects.Missed:
			inspected++
		case v.PartID == "P-waiting" && v.Outcome == defects.Missed:
			missed++
		}
	}
	if inspected != 7 || missed != 1 {
		t.Errorf("after shutdown: %d of 7 frames inspected, %d of 1 waiting trigger missed", inspected, missed)
	}
	f := h.pool.Get(1, 1, 3)
	f.Camera = "cam0"
	h.loop.Submit(f) // after Run: released, not queued
	if err := h.loop.Trigger("cam1", "x", time.Now()); err == nil {
		t.Error("trigger accepted after shutdown")
	}
}

type stuckSink struct{ release chan struct{} }

func (s stuckSink) Name() string { return "stuck" }
func (s stuckSink) Write(context.Context, *Result) error {
	<-s.release
	return nil
}

func TestSlowLossySinkDoesNotHoldUpOthers(t *testing.T) {
	l, err := New(Options{BatchSize: 1, BatchWait: time.Millisecond, ImageSize: 2, Cameras: []CameraOptions{freeRun("cam0", 64)}}, &fakeEmbedder{}, fakePre{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.SetScorers(Scorers{"cam0": scorerFor(t, "a good part")})
	stuck := stuckSink{release: make(chan struct{})}
	stuckStats := l.AddSink(stuck, SinkOptions{Queue: 2})
	mem := NewMemorySink()
	l.AddSink(mem, SinkOptions{Lossless: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	pool := frame.NewPool(8)
	for i := 0; i < 20; i++ {
		f := pool.Get(1, 1, 3)
		f.Camera, f.Seq, f.CapturedAt = "cam0", uint64(i+1), time.Now()
		l.Submit(f)
	}
	testenv.WaitFor(t, "the condition", func() bool { return len(mem.Verdicts()) == 20 })
	if d := stuckStats.Dropped.Value(); d < 17 {
		t.Errorf("stuck sink dropped %d, want at least 17 of 20", d)
	}
	close(stuck.release)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestBatchingAndEncoderCanChangeWhileRunning(t *testing.T) {
	first := &fakeEmbedder{}
	h := start(t, Options{BatchSize: 4, BatchWait: time.Hour, Cameras: []CameraOptions{freeRun("cam0", 64)}}, first)
	for i := 0; i < 4; i++ {
		h.frame("cam0", byte(i), 0)
	}
	h.wait(4)
	second := &fakeEmbedder{}
	h.loop.SetEmbedder(second)
	h.loop.SetBatching(2, time.Hour)
	if size, _ := h.loop.Batching(); size != 2 {
		t.Fatalf("batch size %d after SetBatching(2)", size)
	}
	for i := 0; i < 4; i++ {
		h.frame("cam0", byte(i), 0)
	}
	h.wait(8)
	if fmt.Sprint(first.batchSizes()) != "[4]" || fmt.Sprint(second.batchSizes()) != "[2 2]" {
		t.Errorf("batches: first encoder %v, second %v; want [4] then [2 2]", first.batchSizes(), second.batchSizes())
	}
	h.loop.SetBatching(100, 0)
	if size, _ := h.loop.Batching(); size != 4 {
		t.Errorf("batch size %d, want it capped at the buffers' 4", size)
	}
}

// A camera's MISSED verdicts (here a trigger that timed out) must not
// overtake the verdicts of its earlier parts that are still being inspected.
func TestMissedVerdictsKeepTheirCamerasOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emb := &fakeEmbedder{gate: make(chan struct{})}
		cam := triggered("cam0", 8)
		cam.TriggerTimeout = 30 * time.Millisecond
		h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{cam}}, emb)
		now := time.Now()
		if err := h.loop.Trigger("cam0", "P-1", now); err != nil {
			t.Fatal(err)
		}
		h.frame("cam0", 2, now.Sub(h.t0))
		testenv.WaitFor(t, "the condition", func() bool { return h.loop.CameraStats("cam0").QueueDepth.Value() == 0 })
		// P-2's frame never comes: it times out while P-1 is in the encoder.
		if err := h.loop.Trigger("cam0", "P-2", time.Now()); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, "the condition", func() bool { return h.loop.CameraStats("cam0").Missed.Value() == 1 })
		time.Sleep(time.Second) // P-1 still in the encoder, long after P-2 timed out
		synctest.Wait()
		close(emb.gate)
		vs := h.wait(2)
		if vs[0].PartID != "P-1" || vs[1].PartID != "P-2" || vs[1].Outcome != defects.Missed {
			t.Errorf("verdicts %s %s, %s %s; want P-1 first, then P-2 MISSED", vs[0].PartID, vs[0].Outcome, vs[1].PartID, vs[1].Outcome)
		}
	})
}

// A trigger times out on schedule even while another camera keeps the
// encoder busy without pause (on synctest's clock: the schedule is exact).
func TestTriggersExpireWhileTheLoopIsBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cam := triggered("cam0", 8)
		cam.TriggerTimeout = 30 * time.Millisecond
		h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond,
			Cameras: []CameraOptions{cam, freeRun("cam1", 4)}}, &fakeEmbedder{delay: 2 * time.Millisecond})
		stop := make(chan struct{})
		fed := make(chan struct{})
		pool := frame.NewPool(16)
		go func() {
			defer close(fed)
			for seq := uint64(1); ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				f := pool.Get(1, 1, 3)
				f.Camera, f.Seq, f.CapturedAt = "cam1", seq, time.Now()
				h.loop.Submit(f)
				time.Sleep(200 * time.Microsecond)
			}
		}()
		defer func() { close(stop); <-fed }()
		testenv.WaitFor(t, "the condition", func() bool { return h.loop.CameraStats("cam1").Inspected.Value() > 5 })
		if err := h.loop.Trigger("cam0", "P-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for h.loop.CameraStats("cam0").Missed.Value() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the trigger did not time out within 2s while the loop was busy")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
