package synthetic

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
)

// The mask is white exactly where the defective picture differs from the
// good picture of the same pose, and that area lies on the part, around
// where the scene put the defect.
func TestMaskMarksWhereTheDefectWasDrawn(t *testing.T) {
	const w, h = 200, 160
	const seed = 11
	for pi, p := range PartTypes {
		good, goodMask, err := GeneratePartMask(seed, p, "good", w, h)
		if err != nil {
			t.Fatal(err)
		}
		if n := count(goodMask); n != 0 {
			t.Errorf("%s good: mask has %d white pixels, want none", p, n)
		}
		for di, d := range DefectKinds {
			bad, mask, err := GeneratePartMask(seed, p, d, w, h)
			if err != nil {
				t.Fatal(err)
			}
			if mask.Bounds() != bad.Bounds() {
				t.Fatalf("%s %s: mask %v, picture %v", p, d, mask.Bounds(), bad.Bounds())
			}
			white := count(mask)
			if white < 15 || white > w*h/4 {
				t.Errorf("%s %s: %d of %d mask pixels white, want a local area", p, d, white, w*h)
			}
			// The scene as the generator drew it, for where the part and
			// the defect are.
			sc := newScene(rand.New(rand.NewPCG(seed, uint64(pi)<<32)), pi, di, w, h)
			reach := (partInfos[pi].extent+0.14)*sc.scale + 2
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					i := y*w + x
					same := bytes.Equal(good.Pix[4*i:4*i+3], bad.Pix[4*i:4*i+3])
					if white := mask.Pix[i] == 255; white == same {
						t.Fatalf("%s %s: pixel (%d,%d) mask %d, picture changed %v", p, d, x, y, mask.Pix[i], !same)
					}
					if mask.Pix[i] != 0 && mask.Pix[i] != 255 {
						t.Fatalf("%s %s: mask value %d, want 0 or 255", p, d, mask.Pix[i])
					}
					if mask.Pix[i] == 255 && math.Hypot(float64(x)+0.5-sc.cx, float64(y)+0.5-sc.cy) > reach {
						t.Fatalf("%s %s: mask pixel (%d,%d) is off the part", p, d, x, y)
					}
				}
			}
			if d == MissingComponent {
				continue // the missing piece is wherever the part had it
			}
			u, v := sc.def.qu, sc.def.qv
			if d == Scratch { // the bowed line's middle
				u, v = u+sc.def.nu*sc.def.bend, v+sc.def.nv*sc.def.bend
			}
			cx := sc.cx + sc.scale*(sc.cos*u-sc.sin*v)
			cy := sc.cy + sc.scale*(sc.sin*u+sc.cos*v)
			if !near(mask, cx, cy, 4) {
				t.Errorf("%s %s: no mask pixel within 4 px of the defect's centre (%.1f, %.1f)", p, d, cx, cy)
			}
		}
	}
}

func count(m *image.Gray) int {
	n := 0
	for _, v := range m.Pix {
		if v != 0 {
			n++
		}
	}
	return n
}

func near(m *image.Gray, cx, cy float64, r int) bool {
	for y := int(cy) - r; y <= int(cy)+r; y++ {
		for x := int(cx) - r; x <= int(cx)+r; x++ {
			if image.Pt(x, y).In(m.Rect) && m.GrayAt(x, y).Y != 0 {
				return true
			}
		}
	}
	return false
}

func TestWriteDatasetWritesMasksBesideTheDefects(t *testing.T) {
	dir := t.TempDir()
	var calls, last, total int
	err := WriteDatasetWith(context.Background(), dir, DatasetOptions{N: 2, Seed: 4, Parts: []string{Bracket},
		Progress: func(done, all int) { calls, last, total = calls+1, done, all }})
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * (len(DefectKinds) + 2)
	if calls != want || last != want || total != want {
		t.Errorf("progress: %d calls, last %d of %d; want %d of %d", calls, last, total, want, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != Bracket {
		t.Fatalf("categories %v, want only %s", entries, Bracket)
	}
	if _, err := os.Stat(filepath.Join(dir, Bracket, "ground_truth", "good")); !os.IsNotExist(err) {
		t.Errorf("good parts have a ground_truth folder (%v); MVTec AD has none", err)
	}
	for _, d := range DefectKinds {
		for _, n := range []string{"000", "001"} {
			img := decode(t, filepath.Join(dir, Bracket, "test", d, n+".png"))
			m := decode(t, filepath.Join(dir, Bracket, "ground_truth", d, n+"_mask.png"))
			gray, ok := m.(*image.Gray)
			if !ok {
				t.Fatalf("%s %s mask is %T, want 8-bit grey", d, n, m)
			}
			if gray.Bounds() != img.Bounds() {
				t.Errorf("%s %s: mask %v, image %v", d, n, gray.Bounds(), img.Bounds())
			}
			if count(gray) == 0 {
				t.Errorf("%s %s: empty mask", d, n)
			}
		}
	}
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, path, f)
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestWriteDatasetIsDeterministicPerSeed(t *testing.T) {
	write := func(seed int64) map[string][]byte {
		dir := t.TempDir()
		if err := WriteDatasetWith(context.Background(), dir, DatasetOptions{N: 1, Seed: seed, Parts: []string{Washer, Connector}}); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			files[rel], err = os.ReadFile(path)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	a, b, other := write(7), write(7), write(8)
	if len(a) != 2*(1+len(DefectKinds)+1+len(DefectKinds)) {
		t.Errorf("%d files, want %d", len(a), 2*(2+2*len(DefectKinds)))
	}
	differ := 0
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two runs with seed 7", name)
		}
		if !bytes.Equal(data, other[name]) {
			differ++
		}
	}
	if differ < len(a)/2 {
		t.Errorf("seeds 7 and 8 wrote %d of %d files alike; a seed should change the pictures", len(a)-differ, len(a))
	}
}

func TestWriteDatasetRefusesUnknownParts(t *testing.T) {
	err := WriteDatasetWith(context.Background(), t.TempDir(), DatasetOptions{N: 1, Parts: []string{"gear"}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"gear"`)) {
		t.Errorf("error %v, want it to name the unknown part", err)
	}
}
