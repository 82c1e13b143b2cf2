package anomaly

import (
	"image"
	"math"
	"testing"
)

func TestUpsampleBilinear(t *testing.T) {
	// A 2x2 map to 4x4: pixel x reads the map at (x+0.5)/2-0.5, i.e.
	// -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
	m := []float64{0, 1, 2, 3}
	got := Upsample(m, 2, 4, 4)
	want := []float64{
		0, 0.25, 0.75, 1,
		0.5, 0.75, 1.25, 1.5,
		1.5, 1.75, 2.25, 2.5,
		2, 2.25, 2.75, 3,
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("upsampled %v, want %v", got, want)
		}
	}
	// A constant map stays constant at any size.
	for _, v := range Upsample([]float64{0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3}, 3, 7, 5) {
		if math.Abs(v-0.3) > 1e-12 {
			t.Fatalf("constant map upsampled to %g", v)
		}
	}
}

func TestLargestRegionTakesTheLargestEightConnectedArea(t *testing.T) {
	// Three areas at or above 0.5: a diagonal chain of 4 (connected only
	// through corners), a column of 2, a single pixel.
	m := []float64{
		0.9, 0, 0, 0, 0, 0.6,
		0, 0.7, 0, 0, 0, 0,
		0, 0, 0.5, 0, 0, 0.8,
		0, 0, 0, 0.6, 0, 0.8,
	}
	box, ok := LargestRegion(m, 6, 4, 0.5)
	if !ok || box != image.Rect(0, 0, 4, 4) {
		t.Errorf("region %v %v, want the diagonal chain (0,0)-(4,4)", box, ok)
	}
	// With 4-connectivity the chain would be four areas of one; raising
	// the threshold breaks the chain and leaves the column.
	if box, ok = LargestRegion(m, 6, 4, 0.75); !ok || box != image.Rect(5, 2, 6, 4) {
		t.Errorf("region %v %v at 0.75, want the column (5,2)-(6,4)", box, ok)
	}
	if _, ok = LargestRegion(m, 6, 4, 0.95); ok {
		t.Error("a region above every value")
	}
	// A tie goes to the area reached first in reading order.
	if box, ok = LargestRegion([]float64{1, 0, 1}, 3, 1, 1); !ok || box != image.Rect(0, 0, 1, 1) {
		t.Errorf("tie: region %v, want the first", box)
	}
}

func TestQuantise(t *testing.T) {
	got := Quantise([]float64{0, 1, 0.5, 0.2, -0.1, 1.5, math.NaN()})
	want := []uint8{0, 255, 128, 51, 0, 255, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("quantised %v, want %v", got, want)
		}
	}
}
