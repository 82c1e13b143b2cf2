package synthetic

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
)

func newTestLine(t *testing.T, cfg Config) *Line {
	t.Helper()
	l, err := NewLine(cfg, "cam0", frame.NewPool(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLineIsDeterministicForASeed(t *testing.T) {
	cfg := Config{Width: 96, Height: 64, Seed: 42, DefectRate: 0.5}
	a, b := newTestLine(t, cfg), newTestLine(t, cfg)
	cfg.Seed = 43
	other := newTestLine(t, cfg)
	ctx := context.Background()
	differs := false
	for i := 0; i < 8; i++ {
		fa, err := a.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := b.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fo, err := other.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fa.Pix, fb.Pix) || *fa.Truth != *fb.Truth {
			t.Fatalf("frame %d differs between two lines with the same seed", i)
		}
		differs = differs || !bytes.Equal(fa.Pix, fo.Pix)
		fa.Release()
		fb.Release()
		fo.Release()
	}
	if !differs {
		t.Error("a different seed gave the same frames")
	}
}

func TestRenderDependsOnlyOnIndex(t *testing.T) {
	l := newTestLine(t, Config{Width: 64, Height: 48, Seed: 7, DefectRate: 0.5})
	want := make([]byte, 64*48*3)
	truth := l.Render(3, want, 64*3)
	for i := 0; i < 3; i++ {
		f, err := l.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	f, err := l.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Pix, want) || *f.Truth != *truth {
		t.Error("the fourth frame read differs from rendering index 3 directly")
	}
}

func TestDefectRateAndCoverage(t *testing.T) {
	const n, rate = 3000, 0.3
	l := newTestLine(t, Config{Width: 32, Height: 24, Seed: 1, DefectRate: rate})
	buf := make([]byte, 32*24*3)
	parts := map[string]int{}
	pairs := map[defects.Truth]bool{}
	kinds := map[string]int{}
	for i := uint64(0); i < n; i++ {
		tr := l.Render(i, buf, 32*3)
		parts[tr.PartType]++
		if !tr.Good() {
			kinds[tr.Defect]++
		}
		pairs[*tr] = true
	}
	bad := 0
	for _, c := range kinds {
		bad += c
	}
	got := float64(bad) / n
	// Binomial standard deviation is about 0.008 here; allow five of them.
	if math.Abs(got-rate) > 0.04 {
		t.Errorf("defect rate %.3f, want about %.2f", got, rate)
	}
	for _, p := range PartTypes {
		if parts[p] < n/len(PartTypes)/2 {
			t.Errorf("part %s appeared %d times in %d frames", p, parts[p], n)
		}
	}
	for _, d := range DefectKinds {
		if kinds[d] == 0 {
			t.Errorf("defect %s never appeared", d)
		}
	}
	if want := len(PartTypes) * (len(DefectKinds) + 1); len(pairs) != want {
		t.Errorf("%d distinct (part, defect) pairs, want %d", len(pairs), want)
	}
}

func TestFramesCarryTruthAndCamera(t *testing.T) {
	l := newTestLine(t, Config{Width: 32, Height: 24, DefectRate: 1, PartTypes: []string{Connector}, Defects: []string{Dent}, Frames: 2})
	for i := 0; i < 2; i++ {
		f, err := l.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Camera != "cam0" || f.Width != 32 || f.Height != 24 || f.Stride != 96 {
			t.Errorf("frame %+v", f)
		}
		if f.Truth == nil || f.Truth.PartType != Connector || f.Truth.Defect != Dent {
			t.Errorf("truth %+v, want connector with a dent", f.Truth)
		}
		f.Release()
	}
	if _, err := l.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("after the configured frames: %v, want io.EOF", err)
	}
}

func TestReadAllocatesNothingInSteadyState(t *testing.T) {
	l := newTestLine(t, Config{Width: 64, Height: 48, Seed: 3, DefectRate: 0.5})
	ctx := context.Background()
	allocs := testing.AllocsPerRun(50, func() {
		f, err := l.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per frame, want 0", allocs)
	}
}

func TestReadStopsOnCancelWhenPaced(t *testing.T) {
	l := newTestLine(t, Config{Width: 32, Height: 24, FPS: 0.001})
	ctx, cancel := context.WithCancel(context.Background())
	f, err := l.Read(ctx) // the first frame is due at once
	if err != nil {
		t.Fatal(err)
	}
	f.Release()
	cancel()
	if _, err := l.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("paced read after cancel: %v, want context.Canceled", err)
	}
}

func TestEachDefectChangesOnlyPartOfThePicture(t *testing.T) {
	const w, h = 160, 120
	for _, p := range PartTypes {
		good, err := GeneratePart(5, p, "good", w, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range DefectKinds {
			bad, err := GeneratePart(5, p, d, w, h)
			if err != nil {
				t.Fatal(err)
			}
			changed := 0
			for i := 0; i < len(good.Pix); i += 4 {
				if diff(good.Pix[i:i+3], bad.Pix[i:i+3]) > 24 {
					changed++
				}
			}
			// Visible, but a local flaw, not a different picture.
			if changed < 15 || changed > w*h/4 {
				t.Errorf("%s with %s: %d of %d pixels changed visibly", p, d, changed, w*h)
			}
		}
	}
}

func diff(a, b []byte) int {
	d := 0
	for i := range a {
		d = max(d, int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	return d
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Width: 8, Height: 8}, "width, height"},
		{Config{Width: 64, Height: 64, DefectRate: 1.5}, "defect_rate"},
		{Config{Width: 64, Height: 64, FPS: -1}, "fps"},
		{Config{Width: 64, Height: 64, PartTypes: []string{"gear"}}, `part_types[0]: unknown part type "gear"`},
		{Config{Width: 64, Height: 64, Defects: []string{"rust"}}, `defects[0]: unknown defect "rust"`},
	}
	for _, tt := range tests {
		_, err := NewLine(tt.cfg, "cam0", frame.NewPool(1))
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
			t.Errorf("%+v: error %v, want it to mention %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := GeneratePart(1, "gear", "", 64, 64); err == nil {
		t.Error("GeneratePart accepted an unknown part type")
	}
	if _, err := GeneratePart(1, Washer, "rust", 64, 64); err == nil {
		t.Error("GeneratePart accepted an unknown defect")
	}
}

func TestWriteDatasetUsesTheMVTecLayout(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDataset(dir, 1, 9); err != nil {
		t.Fatal(err)
	}
	for _, p := range PartTypes {
		folders := []string{filepath.Join(p, "train", "good"), filepath.Join(p, "test", "good")}
		for _, d := range DefectKinds {
			folders = append(folders, filepath.Join(p, "test", d))
		}
		for _, folder := range folders {
			path := filepath.Join(dir, folder, "000.png")
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			if cerr := f.Close(); cerr != nil {
				t.Fatalf("closing %s: %v", path, cerr)
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if b := img.Bounds(); b.Dx() != DatasetSize || b.Dy() != DatasetSize {
				t.Errorf("%s is %v", path, b)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(PartTypes) {
		t.Errorf("%d categories, want %d", len(entries), len(PartTypes))
	}
}
