package offline

import (
	"context"
	"errors"
	"image"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/defects"
)

func touch(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(root, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rel(t *testing.T, root string, paths []string) []string {
	t.Helper()
	out := make([]string, len(paths))
	for i, p := range paths {
		var err error
		if out[i], err = filepath.Rel(root, p); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestImageFiles(t *testing.T) {
	root := t.TempDir()
	touch(t, root, "d/b.PNG", "d/a/z.jpg", "d/c.jpeg", "d/notes.txt", "d/._b.png", "d/.cache/x.png", "d/e.gif", "odd.bin")
	got, err := ImageFiles([]string{filepath.Join(root, "odd.bin"), filepath.Join(root, "d")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"odd.bin", "d/a/z.jpg", "d/b.PNG", "d/c.jpeg", "d/e.gif"}
	if g := rel(t, root, got); !slices.Equal(g, want) {
		t.Errorf("got %v, want %v", g, want)
	}
	touch(t, root, "empty/readme.txt")
	if _, err := ImageFiles([]string{filepath.Join(root, "empty")}); err == nil || !strings.Contains(err.Error(), "no image files") {
		t.Errorf("folder without images: %v", err)
	}
	if _, err := ImageFiles([]string{filepath.Join(root, "nope")}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing path: %v", err)
	}
}

func TestReadDataset(t *testing.T) {
	root := t.TempDir()
	touch(t, root, "license.txt", "split_csv/x.csv",
		"screw/train/good/000.png", "screw/ground_truth/thread/000_mask.png",
		"screw/test/thread/001.png", "screw/test/thread/000.png", "screw/test/good/000.png", "screw/test/stray.png",
		"bottle/test/good/000.png", "bottle/test/broken_large/000.png")
	cats, err := ReadDataset(root, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cats {
		for _, img := range c.Images {
			got = append(got, c.Name+" "+img.Defect+" "+strings.Join(rel(t, root, []string{img.Path}), ""))
		}
	}
	want := []string{
		"bottle  bottle/test/good/000.png", "bottle broken_large bottle/test/broken_large/000.png",
		"screw  screw/test/good/000.png", "screw thread screw/test/thread/000.png", "screw thread screw/test/thread/001.png",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	one, err := ReadDataset(filepath.Join(root, "bottle"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || len(one) != 1 || one[0].Name != "bottle" || len(one[0].Images) != 2 {
		t.Errorf("single category: %+v, %v", one, err)
	}
	for _, bad := range []string{filepath.Join(root, "split_csv"), filepath.Join(root, "license.txt")} {
		if _, err := ReadDataset(bad, slog.Default()); err == nil || !strings.Contains(err.Error(), "<category>/test/<defect>/") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// fakeEmbedder fails any batch holding an image of width 1, as a
// preprocessor refusing one image would, or every call when broken.
type fakeEmbedder struct {
	calls  int
	broken bool
}

func (f *fakeEmbedder) EmbedImages(imgs []image.Image) ([][]float32, error) {
	f.calls++
	var out [][]float32
	for _, img := range imgs {
		if f.broken || img.Bounds().Dx() == 1 {
			return nil, errors.New("refused")
		}
		if img.Bounds().Dx() == 50 {
			out = append(out, []float32{0, 0}) // unusable: zero length
			continue
		}
		out = append(out, []float32{float32(img.Bounds().Dx()), 1})
	}
	return out, nil
}

type fixedText struct{}

func (fixedText) EmbedTexts(texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range texts {
		out[i] = []float32{float32(i), 1 - float32(i)}
	}
	return out, nil
}

func TestInspectorIsolatesFailures(t *testing.T) {
	set := &defects.ClassSet{Name: "s", Uncertain: defects.ActionEscalate, Classes: []defects.Class{
		{Name: "good", Good: true, Prompts: []string{"g"}, Threshold: 0.9},
		{Name: "dent", Prompts: []string{"d"}, Threshold: 0.9},
	}}
	scorer, err := defects.Prepare(set, nil, fixedText{}, "m", 10)
	if err != nil {
		t.Fatal(err)
	}
	// "w1" is refused by the embedder, "missing" cannot be read, "zero" gets
	// an embedding the scorer cannot use.
	load := func(p string) (image.Image, error) {
		switch p {
		case "missing":
			return nil, errors.New("load image: no such file")
		case "w1":
			return image.NewGray(image.Rect(0, 0, 1, 1)), nil
		case "zero":
			return image.NewGray(image.Rect(0, 0, 50, 1)), nil
		}
		return image.NewGray(image.Rect(0, 0, 2+len(p), 1)), nil
	}
	emb := &fakeEmbedder{}
	var done []int
	in := &Inspector{Embedder: emb, Scorer: scorer, Camera: "c", BatchSize: 3, Load: load, Progress: func(n int) { done = append(done, n) }}
	paths := []string{"a", "missing", "w1", "bb", "ccc", "zero"}
	var items []Item
	if err := in.Run(context.Background(), paths, func(it Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 6 || !slices.Equal(done, []int{3, 6}) {
		t.Fatalf("%d items, progress %v", len(items), done)
	}
	for i, it := range items {
		failed := it.Path == "missing" || it.Path == "w1"
		if it.Path != paths[i] || it.Seq != i+1 || (it.Err != nil) != failed {
			t.Errorf("item %d: %s seq %d err %v", i, it.Path, it.Seq, it.Err)
		}
		if it.Path == "zero" {
			if it.Err != nil || it.Verdict.Outcome != defects.Uncertain || it.Verdict.Reason == "" || !math.IsNaN(it.DefectScore) {
				t.Errorf("unusable embedding: %+v, defect score %v; want UNCERTAIN with a reason and no score", it.Verdict, it.DefectScore)
			}
			continue
		}
		if !failed && (it.Verdict.Seq != uint64(i+1) || it.Verdict.Camera != "c" || it.Verdict.Outcome == "" || it.DefectScore != scorer.Score([]float32{float32(2 + len(it.Path)), 1}).DefectScore) {
			t.Errorf("item %d: verdict %+v score %v", i, it.Verdict, it.DefectScore)
		}
	}
	if !strings.Contains(items[2].Err.Error(), `"w1"`) {
		t.Errorf("embed error does not name the image: %v", items[2].Err)
	}

	// A model that fails every image stops the run instead of writing an
	// error for each.
	in.Embedder = &fakeEmbedder{broken: true}
	if err := in.Run(context.Background(), []string{"a", "b"}, func(Item) error { return nil }); err == nil {
		t.Error("broken model: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in.Embedder = emb
	if err := in.Run(ctx, []string{"a"}, func(Item) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
