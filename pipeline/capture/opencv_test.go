package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/frame"
)

// shades are the solid colours of the test videos and images, BGR.
var shades = [][3]byte{{20, 200, 100}, {60, 170, 100}, {100, 140, 100}, {140, 110, 100}, {180, 80, 100}}

func solidMat(t *testing.T, w, h int, bgr [3]byte) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(bgr[0]), float64(bgr[1]), float64(bgr[2]), 0), h, w, gocv.MatTypeCV8UC3)
	return m
}

// shadeOf says which of shades a frame shows, judged by its centre pixel;
// -1 if none is close (MJPG is lossy).
func shadeOf(f *frame.Frame) int {
	i := f.Height/2*f.Stride + f.Width/2*3
	for k, s := range shades {
		close := true
		for c := 0; c < 3; c++ {
			if d := int(f.Pix[i+c]) - int(s[c]); d > 10 || d < -10 {
				close = false
			}
		}
		if close {
			return k
		}
	}
	return -1
}

// writeVideo writes the shades as frames of an MJPG AVI.
func writeVideo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "line.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", 25, 64, 48, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shades {
		m := solidMat(t, 64, 48, s)
		if err := vw.Write(m); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := vw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// readShades reads n frames (or until an error) and names their shades.
func readShades(t *testing.T, src Source, n int) ([]int, error) {
	t.Helper()
	var got []int
	for len(got) < n {
		f, err := src.Read(context.Background())
		if err != nil {
			return got, err
		}
		if f.Width != 64 || f.Height != 48 || f.Stride != 64*3 || f.Camera != "cam0" {
			t.Fatalf("frame %dx%d stride %d camera %q", f.Width, f.Height, f.Stride, f.Camera)
		}
		got = append(got, shadeOf(f))
		f.Release()
	}
	return got, nil
}

func openSource(t *testing.T, cfg SourceConfig) Source {
	t.Helper()
	src, err := New(cfg, "cam0", frame.NewPool(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the source", src) })
	return src
}

func TestFileSourcePlaysOnceThenEnds(t *testing.T) {
	src := openSource(t, SourceConfig{Kind: KindFile, Path: writeVideo(t)})
	got, err := readShades(t, src, 10)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("after %v: %v, want io.EOF", got, err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("shades %v, want the five frames in order", got)
	}
}

func TestFileSourceLoops(t *testing.T) {
	src := openSource(t, SourceConfig{Kind: KindFile, Path: writeVideo(t), Loop: true})
	got, err := readShades(t, src, 12)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 0 1 2 3 4 0 1]" {
		t.Errorf("shades %v, want the video twice and then some", got)
	}
}

func TestFileSourceMissingFile(t *testing.T) {
	src, err := New(SourceConfig{Kind: KindFile, Path: filepath.Join(t.TempDir(), "nope.avi")}, "cam0", frame.NewPool(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "nope.avi") {
		t.Errorf("open: %v, want the missing file named", err)
	}
}

// writeFolder writes one image per shade under names whose sorted order is
// not the order of writing, plus a file that is not an image.
func writeFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	names := []string{"10.png", "2.png", "a.jpg", "b.bmp", "c.png"} // sorted
	for _, k := range []int{4, 2, 0, 3, 1} {                        // written out of order
		m := solidMat(t, 64, 48, shades[k])
		if !gocv.IMWrite(filepath.Join(dir, names[k]), m) {
			t.Fatalf("write %s", names[k])
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFolderSourceReplaysInNameOrder(t *testing.T) {
	src := openSource(t, SourceConfig{Kind: KindFolder, Path: writeFolder(t)})
	got, err := readShades(t, src, 10)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("after %v: %v, want io.EOF", got, err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("shades %v, want 10.png 2.png a.jpg b.bmp c.png in that order", got)
	}
}

func TestFolderSourceLoopsAndSkipsBrokenImages(t *testing.T) {
	dir := writeFolder(t)
	if err := os.WriteFile(filepath.Join(dir, "bb.png"), []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := openSource(t, SourceConfig{Kind: KindFolder, Path: dir, Loop: true})
	got, err := readShades(t, src, 7)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 0 1]" {
		t.Errorf("shades %v", got)
	}
}

func TestFolderSourceEmptyFolder(t *testing.T) {
	src, err := New(SourceConfig{Kind: KindFolder, Path: t.TempDir()}, "cam0", frame.NewPool(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("open: %v, want no images", err)
	}
}

func TestFolderSourceConvertsGreyImages(t *testing.T) {
	dir := t.TempDir()
	grey := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(77, 0, 0, 0), 48, 64, gocv.MatTypeCV8UC1)
	defer testenv.Close(t, "the grey image", &grey)
	if !gocv.IMWrite(filepath.Join(dir, "g.png"), grey) {
		t.Fatal("write grey image")
	}
	src := openSource(t, SourceConfig{Kind: KindFolder, Path: dir})
	f, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if px := f.Pix[len(f.Pix)-3:]; px[0] != 77 || px[1] != 77 || px[2] != 77 {
		t.Errorf("grey pixel became %v", px)
	}
}

func TestMissingDeviceFailsClearly(t *testing.T) {
	src, err := New(SourceConfig{Kind: KindDevice, Device: "/dev/video99"}, "cam0", frame.NewPool(1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- src.Open(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "/dev/video99") || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("open: %v, want the missing node named", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("opening a missing device hung")
	}
}

func TestGStreamerSource(t *testing.T) {
	pipeline := "videotestsrc num-buffers=3 pattern=solid-color foreground-color=0xff3c78b4 ! " +
		"video/x-raw,width=64,height=48 ! videoconvert ! video/x-raw,format=BGR ! appsink"
	src, err := New(SourceConfig{Kind: KindGStreamer, Pipeline: pipeline}, "cam0", frame.NewPool(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(context.Background()); err != nil {
		t.Skipf("GStreamer cannot run the test pipeline here: %v", err)
	}
	defer testenv.Close(t, "the GStreamer source", src)
	f, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	// foreground ARGB ff 3c 78 b4 -> BGR b4 78 3c
	if px := f.Pix[:3]; f.Width != 64 || f.Height != 48 || absDiff(px[0], 0xb4) > 4 || absDiff(px[1], 0x78) > 4 || absDiff(px[2], 0x3c) > 4 {
		t.Errorf("frame %dx%d pixel %v", f.Width, f.Height, px)
	}
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
