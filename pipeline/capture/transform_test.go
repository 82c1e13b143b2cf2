package capture

import (
	"image"
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
	var err error
	if n := testing.AllocsPerRun(10, func() { err = o.apply(dst, src) }); n != 0 {
		t.Errorf("%.0f allocations per frame", n)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Every pixel of an oriented frame, taken as a 1x1 box and mapped back
// through the orientation the frame carries, lands on the source pixel that
// apply copied into it; a larger box maps to the box its corners span.
func TestFrameOrientationMapsBackToTheSource(t *testing.T) {
	configs := []CameraConfig{
		{},
		{Rotate: 90}, {Rotate: 180}, {Rotate: 270},
		{Flip: FlipHorizontal}, {Flip: FlipVertical}, {Flip: FlipBoth},
		{Rotate: 90, Flip: FlipHorizontal}, {Rotate: 270, Flip: FlipVertical},
		{ROI: &Rect{X: 1, Y: 1, Width: 3, Height: 2}, Rotate: 90, Flip: FlipVertical},
		{ROI: &Rect{X: 2, Y: 0, Width: 10, Height: 10}, Rotate: 270, Flip: FlipBoth},
	}
	for _, cfg := range configs {
		o := newOrientation(cfg)
		src := letters(5, 4, 0)
		w, h, err := o.outputSize(src.Width, src.Height)
		if err != nil {
			t.Fatal(err)
		}
		dst := frame.NewPool(1).Get(w, h, w*3)
		if err := o.apply(dst, src); err != nil {
			t.Fatal(err)
		}
		fo := o.frameOrientation(src.Width, src.Height)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r := fo.ToSource(image.Rect(x, y, x+1, y+1), w, h)
				if r.Dx() != 1 || r.Dy() != 1 {
					t.Fatalf("%+v: pixel %d,%d maps to %v, not one pixel", cfg, x, y, r)
				}
				if got, want := src.Pix[r.Min.Y*src.Stride+r.Min.X*3], dst.Pix[y*dst.Stride+x*3]; got != want {
					t.Errorf("%+v: pixel %d,%d maps to source %v (%c), apply copied %c", cfg, x, y, r.Min, got, want)
				}
			}
		}
		// The whole frame maps to the kept part of the source.
		x, y, cw, ch, err := o.crop(src.Width, src.Height)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fo.ToSource(image.Rect(0, 0, w, h), w, h), image.Rect(x, y, x+cw, y+ch); got != want {
			t.Errorf("%+v: the whole frame maps to %v, want %v", cfg, got, want)
		}
	}
}

// A box worked out by hand: a 40x30 ROI at (100, 50) of a camera turned a
// quarter clockwise and mirrored left to right.
func TestFrameOrientationBoxByHand(t *testing.T) {
	o := newOrientation(CameraConfig{ROI: &Rect{X: 100, Y: 50, Width: 40, Height: 30}, Rotate: 90, Flip: FlipHorizontal})
	fo := o.frameOrientation(640, 480)
	// The oriented frame is 30 x 40. Box x 5..10, y 2..6 of it: unflipped
	// x 20..25; the quarter turn shows cropped (y, 29-x): cropped x 2..6,
	// y 29-24..29-20+1 = 5..10; plus the ROI's corner.
	if got, want := fo.ToSource(image.Rect(5, 2, 10, 6), 30, 40), image.Rect(102, 55, 106, 60); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}
