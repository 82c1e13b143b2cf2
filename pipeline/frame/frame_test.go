package frame

import (
	"testing"

	"github.com/linesight/linesight/defects"
)

func TestPoolReusesReleasedFrames(t *testing.T) {
	p := NewPool(2)
	f := p.Get(4, 2, 12)
	if len(f.Pix) != 24 {
		t.Fatalf("pix %d bytes, want 24", len(f.Pix))
	}
	f.Camera, f.Seq, f.Truth = "cam0", 7, &defects.Truth{Defect: "dent"}
	buf := &f.Pix[0]
	f.Release()
	g := p.Get(2, 2, 6)
	if &g.Pix[0] != buf {
		t.Error("released buffer was not reused")
	}
	if g.Camera != "" || g.Seq != 0 || g.Truth != nil || len(g.Pix) != 12 {
		t.Errorf("reused frame keeps old metadata: %+v", g)
	}
	if allocs := testing.AllocsPerRun(100, func() { p.Get(4, 2, 12).Release() }); allocs != 0 {
		t.Errorf("%v allocations per get/release, want 0", allocs)
	}
}

func TestRetainedFrameReturnsAfterLastRelease(t *testing.T) {
	p := NewPool(1)
	f := p.Get(1, 1, 3)
	f.Retain()
	f.Release()
	if len(p.free) != 0 {
		t.Fatal("frame returned to the pool while still held")
	}
	f.Release()
	if len(p.free) != 1 {
		t.Fatal("frame not returned after the last release")
	}
	f.Release() // a stray extra release must not return it twice
	if len(p.free) != 1 {
		t.Fatal("frame returned twice")
	}
}
