package inspect

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
)

// The loop runs on synctest's clock: "no progress for ten seconds" is
// checked after every goroutine has settled, not after a guessed pause.

func TestProgressMovesOnAnIdleLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{BatchSize: 4, BatchWait: time.Millisecond, Cameras: []CameraOptions{triggered("cam0", 8)}}, &fakeEmbedder{})
		synctest.Wait()
		before := h.loop.Progress()
		time.Sleep(time.Second) // no part comes
		synctest.Wait()
		if got := h.loop.Progress() - before; got < 5 {
			t.Errorf("an idle loop made %d marks of progress in a second, want about 10 (one per wake-up)", got)
		}
	})
}

func TestProgressCountsBatchesOnABusyLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{BatchSize: 4, BatchWait: time.Millisecond, Cameras: []CameraOptions{freeRun("cam0", 64)}}, &fakeEmbedder{})
		synctest.Wait()
		before := h.loop.Progress()
		for i := 0; i < 16; i++ {
			h.frame("cam0", byte(i), time.Duration(i)*time.Millisecond)
		}
		h.wait(16)
		batches := h.loop.Batches.Value()
		if got := h.loop.Progress() - before; got < uint64(batches) || batches == 0 {
			t.Errorf("%d marks of progress for %d batches, want one per batch at least", got, batches)
		}
	})
}

func TestProgressStopsWhileInferenceHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emb := &fakeEmbedder{gate: make(chan struct{})}
		h := start(t, Options{BatchSize: 1, BatchWait: time.Millisecond, Cameras: []CameraOptions{freeRun("cam0", 8)}}, emb)
		h.frame("cam0", 0, 0)
		synctest.Wait() // the encoder holds the batch; the collector waits idle
		stuck := h.loop.Progress()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := h.loop.Progress(); got != stuck {
			t.Errorf("progress moved from %d to %d while the encoder hung", stuck, got)
		}
		close(emb.gate)
		h.wait(1)
		time.Sleep(time.Second)
		synctest.Wait()
		if got := h.loop.Progress(); got <= stuck+1 {
			t.Errorf("progress %d after the encoder came back, want more than %d", got, stuck+1)
		}
	})
}

func TestProgressStopsBehindAStuckLosslessSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := New(Options{BatchSize: 1, BatchWait: time.Millisecond, ImageSize: 2, Cameras: []CameraOptions{freeRun("cam0", 8)}}, &fakeEmbedder{}, fakePre{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.SetScorers(Scorers{"cam0": scorerFor(t, "a good part")})
		stuck := stuckSink{release: make(chan struct{})}
		l.AddSink(stuck, SinkOptions{Lossless: true, Queue: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		pool := frame.NewPool(8)
		// One verdict in the sink's Write, one in its queue, the third
		// holds the dispatch.
		for i := 0; i < 3; i++ {
			f := pool.Get(1, 1, 3)
			f.Camera, f.Seq, f.CapturedAt = "cam0", uint64(i+1), time.Now()
			l.Submit(f)
		}
		synctest.Wait()
		held := l.Progress()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := l.Progress(); got != held {
			t.Errorf("progress moved from %d to %d while a lossless sink held the loop", held, got)
		}
		close(stuck.release)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
