package eval

import (
	"encoding/json"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSortedAUROCMatchesTheRankFormula(t *testing.T) {
	// The hand case: 0.6 beats 0.3 and 0.5; 0.4 beats 0.3; 0.3 ties 0.3:
	// (2 + 1 + 0.5) / 6.
	if got := SortedAUROC([]float64{0.6, 0.4, 0.3}, []float64{0.3, 0.5}); math.Abs(float64(got)-3.5/6) > 1e-15 {
		t.Errorf("hand case: %v, want %v", got, 3.5/6)
	}
	if got := SortedAUROC([]float64{0.5, 0.5}, []float64{0.5, 0.5, 0.5}); got != 0.5 {
		t.Errorf("all tied: %v, want 0.5", got)
	}
	if SortedAUROC(nil, []float64{1}).Defined() || SortedAUROC([]float64{1}, nil).Defined() {
		t.Error("an empty side should be undefined")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 100 {
		pos := make([]float64, 1+rng.IntN(40))
		neg := make([]float64, 1+rng.IntN(40))
		for i := range pos {
			pos[i] = math.Round(rng.Float64()*8) / 8 // many ties
		}
		for i := range neg {
			neg[i] = math.Round(rng.Float64()*8) / 8
		}
		want := AUROC(pos, neg)
		if got := SortedAUROC(pos, neg); math.Abs(float64(got-want)) > 1e-12 {
			t.Fatalf("trial %d: %v, rank formula %v", trial, got, want)
		}
	}
}

func TestUpsampleIsBilinearBetweenPatchCentres(t *testing.T) {
	// A 2 x 2 map over a 4 x 4 image: patch centres at pixel centres 1 and
	// 3 (coordinates 1.0 and 3.0), so pixels 0 and 1 sit on the first
	// patch's value side and pixel 1.5 -> a quarter of the way across.
	m := []float64{0, 1, 2, 3}
	up, err := Upsample(m, 2, preprocess.Window{W: 4, H: 4}, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Column weights: pixel centres 0.5, 1.5, 2.5, 3.5 -> grid -0.25 (clamp
	// 0), 0.25, 0.75, 1.25 (clamp 1).
	fx := []float64{0, 0.25, 0.75, 1}
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			want := fx[x]*1 + fx[y]*2 // value = col + 2*row, bilinear is exact on it
			if math.Abs(up[y*4+x]-want) > 1e-12 {
				t.Errorf("(%d,%d) = %v, want %v", x, y, up[y*4+x], want)
			}
		}
	}
	// A window narrower than the image: columns outside are NaN.
	up, err = Upsample([]float64{5}, 1, preprocess.Window{X: 1, W: 2, H: 3}, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			v := up[y*4+x]
			if inside := x == 1 || x == 2; inside != !math.IsNaN(v) || (inside && v != 5) {
				t.Errorf("(%d,%d) = %v", x, y, v)
			}
		}
	}
	// Over the whole image it is the verdict region's upsampling.
	rng := rand.New(rand.NewPCG(5, 6))
	m7 := make([]float64, 49)
	for i := range m7 {
		m7[i] = rng.Float64()
	}
	up, err = Upsample(m7, 7, preprocess.Window{W: 50, H: 40}, 50, 40)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range anomaly.Upsample(m7, 7, 50, 40) {
		if math.Abs(up[i]-v) > 1e-12 {
			t.Fatalf("pixel %d: %v, anomaly.Upsample %v", i, up[i], v)
		}
	}
	if _, err := Upsample([]float64{1, 2}, 2, preprocess.Window{W: 4, H: 4}, 4, 4); err == nil {
		t.Error("a map of the wrong length was accepted")
	}
}

func TestPixelsCountMasksAndLeaveOutUnseenPixels(t *testing.T) {
	// Two 2 x 1 images. Good: scores 0.1, 0.2. Defective: pixel 0 in the
	// mask with 0.9, pixel 1 outside the window (NaN) and in the mask.
	var px Pixels
	if err := px.Add([]float64{0.1, 0.2}, 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	mask := image.NewGray(image.Rect(0, 0, 2, 1))
	mask.Pix[0], mask.Pix[1] = 255, 255
	if err := px.Add([]float64{0.9, math.NaN()}, 2, 1, mask); err != nil {
		t.Fatal(err)
	}
	if px.Images != 2 || px.LeftOut != 1 || px.LeftOutDefect != 1 {
		t.Errorf("images %d, left out %d (defect %d); want 2, 1, 1", px.Images, px.LeftOut, px.LeftOutDefect)
	}
	if got := px.AUROC(); got != 1 {
		t.Errorf("pixel AUROC %v, want 1", got)
	}
	if err := px.Add([]float64{1, 2, 3}, 3, 1, mask); err == nil || !strings.Contains(err.Error(), "mask is 2x1 but the image is 3x1") {
		t.Errorf("mask of another size: %v", err)
	}
}

func TestComputeAnomaly(t *testing.T) {
	nan := math.NaN()
	samples := []AnomalySample{
		{Good: true, Score: 0.1}, {Good: true, Score: 0.4}, {Good: true, Score: nan},
		{Label: "dent", Score: 0.4}, {Label: "dent", Score: 0.9}, {Label: "scratch", Score: 0.05},
	}
	var px Pixels
	r := ComputeAnomaly(samples, &px, 1)
	// Defective {0.4, 0.9, 0.05} vs good {0.1, 0.4}: 0.4 beats 0.1, ties 0.4;
	// 0.9 beats both; 0.05 beats none: (1.5 + 2 + 0) / 6.
	if r.Samples != 6 || r.Good != 3 || r.Defective != 3 || math.Abs(float64(r.ImageAUROC)-3.5/6) > 1e-12 {
		t.Errorf("report %+v", r)
	}
	if len(r.Kinds) != 2 || r.Kinds[0].Kind != "dent" || r.Kinds[0].AUROC != 0.875 || r.Kinds[1].AUROC != 0 {
		t.Errorf("kinds %+v", r.Kinds)
	}
	if r.PixelAUROC.Defined() || r.MasksMissing != 1 {
		t.Errorf("no mask pixels: pixel AUROC %v, masks missing %d", r.PixelAUROC, r.MasksMissing)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"pixel_auroc":null`) || !strings.Contains(string(data), `"image_auroc":0.58`) {
		t.Errorf("JSON %s", data)
	}
	if tab := r.Table(); !strings.Contains(tab, "image AUROC      0.5833") || !strings.Contains(tab, "pixel AUROC      n/a") {
		t.Errorf("table:\n%s", tab)
	}
}
