package capture

import (
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/frame"
)

// letters makes a w x h image whose pixels are the letters a, b, c, ... in
// reading order, with pad bytes after each row; each channel holds a
// different value so a channel mix-up shows.
func letters(w, h, pad int) *frame.Frame {
	f := frame.NewPool(1).Get(w, h, w*3+pad)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			l := byte('a' + y*w + x)
			i := y*f.Stride + x*3
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = l, l+100, l+150
		}
	}
	return f
}

// pixelLetters reads an image made of letters back as rows joined by "/".
func pixelLetters(f *frame.Frame) string {
	var rows []string
	for y := 0; y < f.Height; y++ {
		var row []byte
		for x := 0; x < f.Width; x++ {
			i := y*f.Stride + x*3
			l := f.Pix[i]
			if f.Pix[i+1] != l+100 || f.Pix[i+2] != l+150 {
				l = '?'
			}
			row = append(row, l)
		}
		rows = append(rows, string(row))
	}
	return strings.Join(rows, "/")
}

func TestOrientation(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		cfg  CameraConfig
		want string
	}{
		// a b c
		// d e f
		{"none", 3, 2, CameraConfig{}, "abc/def"},
		{"rotate 90 clockwise", 3, 2, CameraConfig{Rotate: 90}, "da/eb/fc"},
		{"rotate 180", 3, 2, CameraConfig{Rotate: 180}, "fed/cba"},
		{"rotate 270 clockwise", 3, 2, CameraConfig{Rotate: 270}, "cf/be/ad"},
		{"flip horizontal", 3, 2, CameraConfig{Flip: FlipHorizontal}, "cba/fed"},
		{"flip vertical", 3, 2, CameraConfig{Flip: FlipVertical}, "def/abc"},
		{"flip both", 3, 2, CameraConfig{Flip: FlipBoth}, "fed/cba"},
		{"rotate 90 then flip horizontal", 3, 2, CameraConfig{Rotate: 90, Flip: FlipHorizontal}, "ad/be/cf"},
		// a b c d
		// e f g h
		// i j k l
		{"roi", 4, 3, CameraConfig{ROI: &Rect{X: 1, Y: 1, Width: 2, Height: 2}}, "fg/jk"},
		{"roi then rotate 270", 4, 3, CameraConfig{ROI: &Rect{X: 1, Y: 0, Width: 3, Height: 2}, Rotate: 270}, "dh/cg/bf"},
		{"roi clipped to the image", 4, 3, CameraConfig{ROI: &Rect{X: 2, Y: 1, Width: 10, Height: 10}}, "gh/kl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrientation(tt.cfg)
			src := letters(tt.w, tt.h, 5)
			w, h, err := o.outputSize(src.Width, src.Height)
			if err != nil {
				t.Fatal(err)
			}
			dst := frame.NewPool(1).Get(w, h, w*3)
			if err := o.apply(dst, src); err != nil {
				t.Fatal(err)
			}
			if got := pixelLetters(dst); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOrientationRejectsROIOutsideTheImage(t *testing.T) {
	o := newOrientation(CameraConfig{ROI: &Rect{X: 10, Y: 0, Width: 5, Height: 5}})
	if _, _, err := o.outputSize(4, 3); err == nil || !strings.Contains(err.Error(), "outside the 4x3 image") {
		t.Errorf("error %v, want the ROI outside the image named", err)
	}
}

func TestOrientationAllocatesNothing(t *testing.T) {
	o := newOrientation(CameraConfig{Rotate: 90, Flip: FlipVertical, ROI: &Rect{X: 1, Y: 1, Width: 30, Height: 20}})
	src := frame.NewPool(1).Get(64, 48, 64*3)
	dst := frame.NewPool(1).Get(20, 30, 20*3)
	if n := testing.AllocsPerRun(10, func() { _ = o.apply(dst, src) }); n != 0 {
		t.Errorf("%.0f allocations per frame", n)
	}
}
