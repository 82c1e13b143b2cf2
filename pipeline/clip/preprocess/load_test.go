package preprocess

import (
	"image"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadImageFile(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	img.Pix[4] = 200
	png, jpg, gifPath := filepath.Join(dir, "a.png"), filepath.Join(dir, "a.jpg"), filepath.Join(dir, "a.gif")
	writeImage(t, png, img, 0)
	writeImage(t, jpg, img, 95)
	f, err := os.Create(gifPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(f, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{png, jpg, gifPath} {
		got, err := LoadImageFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got.Bounds() != img.Rect {
			t.Errorf("%s: bounds %v", path, got.Bounds())
		}
	}

	text, truncated := filepath.Join(dir, "notes.png"), filepath.Join(dir, "cut.jpg")
	if err := os.WriteFile(text, []byte("hello, world"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(jpg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.png"): "no such file",
		text:                              "not a PNG, JPEG or GIF file (starts with 68 65 6c",
		truncated:                         "decode JPEG",
	} {
		_, err := LoadImageFile(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Errorf("%s: error %v, want one naming the file and %q", path, err, want)
		}
	}
}
