package preprocess

import "testing"

// Windows worked out by hand from the resize and crop rules.
func TestSourceWindow(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		w, h int
		want Window
	}{
		// 640x480 resizes to 298x224; the crop starts at round(74/2) = 37.
		// Scale 640/298 across, 480/224 down.
		{"landscape", DefaultParams(), 640, 480, Window{X: 37 * 640.0 / 298, Y: 0, W: 224 * 640.0 / 298, H: 480}},
		// 480x640 resizes to 224x298: the crop starts 37 rows down.
		{"portrait", DefaultParams(), 480, 640, Window{X: 0, Y: 37 * 640.0 / 298, W: 480, H: 224 * 640.0 / 298}},
		{"square", DefaultParams(), 448, 448, Window{X: 0, Y: 0, W: 448, H: 448}},
		// The shorter side already 224: no resize, the crop alone.
		{"no resize", DefaultParams(), 300, 224, Window{X: 38, Y: 0, W: 224, H: 224}},
		// A fixed 256x256 resize and a 224 crop of a 512x384 image.
		{"fixed resize", Params{ResizeWidth: 256, ResizeHeight: 256, CropWidth: 224, CropHeight: 224}, 512, 384,
			Window{X: 16 * 2, Y: 16 * 1.5, W: 224 * 2, H: 224 * 1.5}},
		// A crop larger than the resized image is padded: the window
		// reaches past the image's edges.
		{"padded", Params{ResizeWidth: 200, ResizeHeight: 220, CropWidth: 224, CropHeight: 224}, 200, 220,
			Window{X: -12, Y: -2, W: 224, H: 224}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.SourceWindow(tt.w, tt.h); !near(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWindowFromCrop(t *testing.T) {
	win := DefaultParams().SourceWindow(640, 480)
	// The crop's corners are the window's corners, its middle the image's.
	if x, y := win.FromCrop(0, 0, 224, 224); !approx(x, 37*640.0/298) || !approx(y, 0) {
		t.Errorf("top-left at %g,%g", x, y)
	}
	if x, y := win.FromCrop(224, 224, 224, 224); !approx(x, 261*640.0/298) || !approx(y, 480) {
		t.Errorf("bottom-right at %g,%g", x, y)
	}
}

func near(a, b Window) bool {
	return approx(a.X, b.X) && approx(a.Y, b.Y) && approx(a.W, b.W) && approx(a.H, b.H)
}

func approx(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
