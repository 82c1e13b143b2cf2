package inspect

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
)

// gatedSink holds its first Write until released and records what it got.
type gatedSink struct {
	entered chan struct{} // closed when the first Write starts
	release chan struct{}
	mu      sync.Mutex
	got     []string // camera/seq
}

func (s *gatedSink) Name() string { return "gated" }
func (s *gatedSink) Write(_ context.Context, r *Result) error {
	s.mu.Lock()
	s.got = append(s.got, fmt.Sprintf("%s/%d", r.Verdict.Camera, r.Verdict.Seq))
	first := len(s.got) == 1
	s.mu.Unlock()
	if first {
		close(s.entered)
		<-s.release
	}
	return nil
}

// startGated runs a lossy sink that holds its first verdict until drain,
// which then closes the queue and waits for the sink to write the rest.
func startGated(queue int) (r *sinkRunner, sink *gatedSink, drain func()) {
	sink = &gatedSink{entered: make(chan struct{}), release: make(chan struct{})}
	r = newSinkRunner(sink, SinkOptions{Queue: queue}, slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	wg.Add(1)
	go r.run(&wg)
	return r, sink, func() {
		r.close()
		close(sink.release)
		wg.Wait()
	}
}

// A lossy sink that falls behind drops the oldest verdict that a newer one
// of the same camera supersedes: for the live views and the PLC board each
// camera's newest is the line's state, and a triggered camera may send no
// verdict after its last part.
func TestLossySinkKeepsEachCamerasNewest(t *testing.T) {
	r, sink, drain := startGated(3)
	offer := func(camera string, seq uint64) {
		r.offer(Result{Verdict: defects.Verdict{Camera: camera, Seq: seq}})
	}
	offer("free", 1)
	<-sink.entered // the sink holds free/1
	offer("free", 2)
	offer("triggered", 1) // its last part: nothing of it follows
	for seq := uint64(3); seq <= 10; seq++ {
		offer("free", seq)
	}
	offer("other", 1)
	drain()
	if got := fmt.Sprint(sink.got); got != "[free/1 triggered/1 free/10 other/1]" {
		t.Errorf("the sink wrote %s, want [free/1 triggered/1 free/10 other/1]: the one it held, then each camera's newest in order", got)
	}
	if d := r.stats.Dropped.Value(); d != 8 {
		t.Errorf("dropped %d, want 8 (free/2 to free/9)", d)
	}
}

// With as many cameras waiting as the queue holds, the oldest goes.
func TestLossySinkDropsTheOldestWhenEachCameraHasOne(t *testing.T) {
	r, sink, drain := startGated(2)
	r.offer(Result{Verdict: defects.Verdict{Camera: "a", Seq: 1}})
	<-sink.entered
	for _, c := range []string{"b", "c", "d"} {
		r.offer(Result{Verdict: defects.Verdict{Camera: c, Seq: 1}})
	}
	drain()
	if got := fmt.Sprint(sink.got); got != "[a/1 c/1 d/1]" {
		t.Errorf("the sink wrote %s, want [a/1 c/1 d/1]", got)
	}
}

// Cameras offer from their own goroutines (the resolver's) while the sink
// writes: every frame goes back to its pool once written or dropped, each
// result is written or counted as dropped, and each camera's last verdict
// is written, after its earlier ones.
func TestLossySinkUnderConcurrentOffers(t *testing.T) {
	const cameras, perCamera = 4, 200
	var mu sync.Mutex
	last := map[string]uint64{}
	var order []error
	sink := sinkFunc(func(r *Result) {
		mu.Lock()
		defer mu.Unlock()
		if r.Verdict.Seq <= last[r.Verdict.Camera] {
			order = append(order, fmt.Errorf("%s/%d written after %d", r.Verdict.Camera, r.Verdict.Seq, last[r.Verdict.Camera]))
		}
		last[r.Verdict.Camera] = r.Verdict.Seq
	})
	r := newSinkRunner(sink, SinkOptions{Queue: 2 * cameras}, slog.New(slog.DiscardHandler))
	var sinkWG sync.WaitGroup
	sinkWG.Add(1)
	go r.run(&sinkWG)
	pool := frame.NewPool(cameras * perCamera)
	made := map[*frame.Frame]bool{}
	var madeMu sync.Mutex
	var offers sync.WaitGroup
	for c := range cameras {
		camera := fmt.Sprintf("cam%d", c)
		offers.Go(func() {
			for seq := uint64(1); seq <= perCamera; seq++ {
				f := pool.Get(1, 1, 3)
				madeMu.Lock()
				made[f] = true
				madeMu.Unlock()
				r.offer(Result{Verdict: defects.Verdict{Camera: camera, Seq: seq}, Frame: f})
				f.Release() // the loop's own reference
			}
		})
	}
	offers.Wait()
	r.close()
	sinkWG.Wait()
	for _, err := range order {
		t.Error(err)
	}
	for c := range cameras {
		if camera := fmt.Sprintf("cam%d", c); last[camera] != perCamera {
			t.Errorf("%s: the last verdict written is %d, want %d", camera, last[camera], perCamera)
		}
	}
	if w, d := r.stats.Written.Value(), r.stats.Dropped.Value(); w+d != cameras*perCamera {
		t.Errorf("written %d + dropped %d, want %d", w, d, cameras*perCamera)
	}
	for range len(made) {
		if f := pool.Get(1, 1, 3); !made[f] {
			t.Fatalf("%d frames were made, and not all went back to the pool", len(made))
		}
	}
}

type sinkFunc func(*Result)

func (sinkFunc) Name() string { return "func" }
func (f sinkFunc) Write(_ context.Context, r *Result) error {
	f(r)
	return nil
}
