package synthetic

import (
	"testing"

	"github.com/linesight/linesight/pipeline/frame"
)

// BenchmarkRender640 measures one 640x480 frame of the line.
func BenchmarkRender640(b *testing.B) {
	l, err := NewLine(Config{Width: 640, Height: 480, Seed: 1, DefectRate: 0.5}, "bench", frame.NewPool(1))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 640*480*3)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Render(uint64(i), buf, 640*3)
	}
}
