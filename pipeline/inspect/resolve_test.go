package inspect

import (
	"context"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
)

// holdingResolver resolves camera a's FAIL verdicts, each only when a token
// arrives, and checks it sees the right frame.
type holdingResolver struct {
	release chan struct{}
	t       *testing.T
}

func (r holdingResolver) Wants(v *defects.Verdict) bool {
	return v.Camera == "a" && v.Outcome == defects.Fail
}

func (r holdingResolver) Resolve(_ context.Context, res *Result) defects.Verdict {
	<-r.release
	if res.Frame == nil || int(res.Frame.Pix[0]) != int(res.Verdict.Seq-1) {
		r.t.Errorf("resolver got the wrong frame for seq %d", res.Verdict.Seq)
	}
	v := res.Verdict
	v.Outcome, v.Action, v.Source = defects.Pass, defects.ActionPass, "remote:test"
	return v
}

func TestResolverKeepsEachCamerasOrder(t *testing.T) {
	opts := Options{BatchSize: 2, ImageSize: 2, Cameras: []CameraOptions{freeRun("a", 64), freeRun("b", 64)}}
	l, err := New(opts, &fakeEmbedder{}, fakePre{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := scorerFor(t, "a good part")
	l.SetScorers(Scorers{"a": s, "b": s})
	res := holdingResolver{release: make(chan struct{}), t: t}
	l.SetResolver(res)
	sink := NewMemorySink()
	l.AddSink(sink, SinkOptions{Lossless: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	// On a failed check the resolver is released, so Run can stop.
	defer func() {
		close(res.release)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	pool := frame.NewPool(32)
	t0 := time.Now()
	for i := range 6 {
		for _, cam := range []string{"a", "b"} {
			f := pool.Get(1, 1, 3)
			f.Camera, f.Seq, f.CapturedAt, f.Pix[0] = cam, uint64(i+1), t0.Add(time.Duration(i)*time.Millisecond), byte(i)
			l.Submit(f)
		}
	}
	count := func(cam string) (n int) {
		for _, v := range sink.Verdicts() {
			if v.Camera == cam {
				n++
			}
		}
		return n
	}
	// Camera b is not held up by camera a's escalation; a stops at its
	// first held verdict (seq 2) and publishes nothing behind it.
	deadline := time.After(10 * time.Second)
	for count("b") < 6 {
		select {
		case <-sink.Changed():
		case <-deadline:
			t.Fatalf("camera b: %d verdicts while a is held", count("b"))
		}
	}
	// a's first verdict may still be on its way when b's last arrives.
	for count("a") < 1 {
		select {
		case <-sink.Changed():
		case <-deadline:
			t.Fatal("camera a: no verdict before its held one")
		}
	}
	if n := count("a"); n != 1 {
		t.Fatalf("camera a published %d verdicts past a held one", n)
	}
	for range 3 {
		res.release <- struct{}{}
	}
	for count("a") < 6 {
		select {
		case <-sink.Changed():
		case <-deadline:
			t.Fatalf("camera a: %d verdicts after release", count("a"))
		}
	}
	var seq uint64
	for _, v := range sink.Verdicts() {
		if v.Camera != "a" {
			continue
		}
		if v.Seq != seq+1 {
			t.Errorf("camera a out of order: seq %d after %d", v.Seq, seq)
		}
		seq = v.Seq
		wantSource := defects.SourceLocal
		if v.Seq%2 == 0 {
			wantSource = "remote:test"
		}
		if v.Source != wantSource {
			t.Errorf("seq %d: source %q, want %q", v.Seq, v.Source, wantSource)
		}
	}
}
