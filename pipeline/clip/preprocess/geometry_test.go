package preprocess

import "testing"

// The rounding rules, with expected values worked out by hand from
// torchvision's formulas.
func TestCropOffset(t *testing.T) {
	tests := []struct {
		size, crop, want int
	}{
		{224, 224, 0},
		{230, 224, 3},  // 3.0
		{229, 224, 2},  // 2.5 rounds half to even: 2
		{279, 224, 28}, // 27.5 rounds to 28
		{281, 224, 28}, // 28.5 rounds to 28
		{283, 224, 30}, // 29.5 rounds to 30
		{398, 224, 87}, // 87.0
		{373, 224, 74}, // 74.5 rounds to 74
		{225, 224, 0},  // 0.5 rounds to 0
		{227, 224, 2},  // 1.5 rounds to 2
		{220, 224, -2}, // padding (224-220)//2 = 2 on the leading side
		{221, 224, -1}, // (224-221)//2 = 1
	}
	for _, tt := range tests {
		if got := cropOffset(tt.size, tt.crop); got != tt.want {
			t.Errorf("cropOffset(%d, %d) = %d, want %d", tt.size, tt.crop, got, tt.want)
		}
	}
}

func TestResizedSize(t *testing.T) {
	p := DefaultParams()
	tests := []struct {
		w, h, wantW, wantH int
	}{
		{1920, 1080, 398, 224}, // 224*1920/1080 = 398.22
		{1080, 1920, 224, 398},
		{640, 480, 298, 224}, // 298.67 truncates to 298
		{500, 300, 373, 224}, // 373.33
		{333, 251, 297, 224}, // 297.18
		{150, 100, 336, 224}, // upscaling: 336.0
		{100, 150, 224, 336},
		{224, 301, 224, 301}, // shorter side already 224: untouched
		{301, 224, 301, 224},
		{300, 300, 224, 224},
		{401, 225, 399, 224},  // 399.22
		{1000, 3, 74666, 224}, // 74666.67
	}
	for _, tt := range tests {
		gotW, gotH := p.resizedSize(tt.w, tt.h)
		if gotW != tt.wantW || gotH != tt.wantH {
			t.Errorf("resizedSize(%d, %d) = %dx%d, want %dx%d", tt.w, tt.h, gotW, gotH, tt.wantW, tt.wantH)
		}
	}
	fixed := Params{ResizeWidth: 256, ResizeHeight: 150}
	if w, h := fixed.resizedSize(1920, 1080); w != 256 || h != 150 {
		t.Errorf("fixed resize gives %dx%d, want 256x150", w, h)
	}
}

// A halving resize, worked by hand: output 0 has its centre at input 1.0,
// the kernel is widened to support 4, so it reads inputs int(1-4+0.5) = -2,
// clamped to 0, up to int(1+4+0.5) = 5 exclusive: distances -0.5 to 3.5, i.e.
// kernel arguments -0.25, 0.25, 0.75, 1.25, 1.75, with bicubic weights
// 0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375 (sum 1.8671875).
func TestCoefficientsHalving(t *testing.T) {
	var c axisCoeffs
	c.compute(8, 4, 0, 4)
	raw := []float64{0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375}
	if c.first[0] != 0 || c.count[0] != 5 {
		t.Fatalf("output 0 reads %d inputs from %d, want 5 from 0", c.count[0], c.first[0])
	}
	for k, w := range raw {
		w /= 1.8671875
		want := int32(w*(1<<22) + 0.5)
		if w < 0 {
			want = int32(w*(1<<22) - 0.5)
		}
		if got := c.weights[k]; got != want {
			t.Errorf("weight %d = %d, want %d", k, got, want)
		}
	}
	// Output 1 (centre 3.0) reads inputs 0..6 by the same rounding rule:
	// int(3-4+0.5) = 0 and int(3+4+0.5) = 7.
	if c.first[1] != 0 || c.count[1] != 7 {
		t.Errorf("output 1 reads %d inputs from %d, want 7 from 0", c.count[1], c.first[1])
	}
	if c.ksize != 9 {
		t.Errorf("ksize = %d, want ceil(4)*2+1 = 9", c.ksize)
	}
}

// At scale 1 the bicubic weights are 1 at the centre and exactly 0 at the
// integer distances, so resampling an axis that keeps its size is the
// identity, as Pillow's skipping of that pass assumes.
func TestCoefficientsIdentity(t *testing.T) {
	var c axisCoeffs
	c.compute(10, 10, 0, 10)
	for i := range 10 {
		for k := range c.count[i] {
			want := int32(0)
			if c.first[i]+k == i {
				want = 1 << precisionBits
			}
			if got := c.weights[i*c.ksize+k]; got != want {
				t.Errorf("output %d, input %d: weight %d, want %d", i, c.first[i]+k, got, want)
			}
		}
	}
}

// A run of output positions has the same coefficients as the full axis.
func TestCoefficientsRun(t *testing.T) {
	var full, run axisCoeffs
	full.compute(1920, 398, 0, 398)
	run.compute(1920, 398, 87, 224)
	for i := range 224 {
		if full.first[87+i] != run.first[i] || full.count[87+i] != run.count[i] {
			t.Fatalf("position %d: bounds differ", 87+i)
		}
		for k := range full.ksize {
			if full.weights[(87+i)*full.ksize+k] != run.weights[i*run.ksize+k] {
				t.Fatalf("position %d: weight %d differs", 87+i, k)
			}
		}
	}
}
