package preprocess

import "testing"

func TestSourceWindow(t *testing.T) {
	clip := DefaultParams() // shortest edge 224, crop 224
	fixed := DefaultParams()
	fixed.ShortestEdge, fixed.ResizeWidth, fixed.ResizeHeight, fixed.CropWidth, fixed.CropHeight = 0, 112, 112, 112, 112
	small := DefaultParams()
	small.ShortestEdge, small.CropWidth, small.CropHeight = 100, 128, 128
	tests := []struct {
		name         string
		p            Params
		w, h         int
		x, y, cw, ch float64
	}{
		{"square, resized", clip, 256, 256, 0, 0, 256, 256},
		{"square, as is", clip, 224, 224, 0, 0, 224, 224},
		// 640x480 -> 298x224 (int(224*640/480) = 298); the crop starts at
		// round(74/2) = 37 resized pixels, 37*640/298 source pixels.
		{"landscape", clip, 640, 480, 37 * 640.0 / 298, 0, 224 * 640.0 / 298, 480},
		// 300x400 -> 224x298, crop from round(74/2) = 37 down.
		{"portrait", clip, 300, 400, 0, 37 * 400.0 / 298, 300, 224 * 400.0 / 298},
		{"fixed resize stretches", fixed, 200, 100, 0, 0, 200, 100},
		// 100x100 stays, the 128 crop pads (128-100)/2 = 14 on the leading edge.
		{"padded", small, 100, 100, -14, -14, 128, 128},
	}
	for _, tt := range tests {
		x, y, cw, ch := tt.p.SourceWindow(tt.w, tt.h)
		if !near(x, tt.x) || !near(y, tt.y) || !near(cw, tt.cw) || !near(ch, tt.ch) {
			t.Errorf("%s: window (%g, %g, %g x %g), want (%g, %g, %g x %g)", tt.name, x, y, cw, ch, tt.x, tt.y, tt.cw, tt.ch)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
