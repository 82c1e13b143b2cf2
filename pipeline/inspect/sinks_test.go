package inspect

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/linesight/linesight/defects"
)

// gatedSink holds its first Write until released and records what it got.
type gatedSink struct {
	entered chan struct{} // closed when the first Write starts
	release chan struct{}
	mu      sync.Mutex
	seqs    []uint64
}

func (s *gatedSink) Name() string { return "gated" }
func (s *gatedSink) Write(_ context.Context, r *Result) error {
	s.mu.Lock()
	s.seqs = append(s.seqs, r.Verdict.Seq)
	first := len(s.seqs) == 1
	s.mu.Unlock()
	if first {
		close(s.entered)
		<-s.release
	}
	return nil
}

// A lossy sink that falls behind loses its oldest waiting verdicts, never
// the newest: for the live views and the PLC board the newest is the line's
// state, and a triggered camera may send no verdict after it.
func TestLossySinkDropsTheOldestWaiting(t *testing.T) {
	sink := &gatedSink{entered: make(chan struct{}), release: make(chan struct{})}
	r := newSinkRunner(sink, SinkOptions{Queue: 2}, slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	wg.Add(1)
	go r.run(&wg)
	offer := func(seq uint64) { r.offer(Result{Verdict: defects.Verdict{Camera: "cam0", Seq: seq}}) }
	offer(1)
	<-sink.entered // the sink holds verdict 1
	for seq := uint64(2); seq <= 10; seq++ {
		offer(seq)
	}
	close(sink.release)
	close(r.queue)
	wg.Wait()
	if got := fmt.Sprint(sink.seqs); got != "[1 9 10]" {
		t.Errorf("the sink wrote %s, want [1 9 10]: the one it held and the two newest", got)
	}
	if d := r.stats.Dropped.Value(); d != 7 {
		t.Errorf("dropped %d, want 7 (verdicts 2 to 8)", d)
	}
}
