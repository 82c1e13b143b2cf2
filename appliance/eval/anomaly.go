package eval

import (
	"fmt"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"image"
	"math"
	"slices"
)

// Upsample spreads a g x g map (row-major) over the pixels of a w x h
// image whose window (the part the model saw, preprocess.Params.SourceWindow)
// it covers, bilinearly: each patch's value sits at its centre, pixels
// between centres are interpolated and pixels beyond the outer centres take
// the nearest edge value (PyTorch's interpolate with align_corners=False).
// Over a window that is the whole image it is anomaly.Upsample, the
// verdict's region's upsampling; a pixel whose centre lies outside the
// window is NaN here: the model never saw it.
func Upsample(m []float64, grid int, win preprocess.Window, w, h int) ([]float64, error) {
	if grid <= 0 || len(m) != grid*grid {
		return nil, fmt.Errorf("upsample map: %d values for a %d x %d grid", len(m), grid, grid)
	}
	if !(win.W > 0) || !(win.H > 0) {
		return nil, fmt.Errorf("upsample map: window %gx%g is empty", win.W, win.H)
	}
	// Per column and per row: the two grid cells and the weight of the second.
	cols, colOK := axis(w, win.X, win.W, grid)
	rows, rowOK := axis(h, win.Y, win.H, grid)
	out := make([]float64, w*h)
	for y := 0; y < h; y++ {
		r := rows[y]
		for x := 0; x < w; x++ {
			if !rowOK[y] || !colOK[x] {
				out[y*w+x] = math.NaN()
				continue
			}
			c := cols[x]
			top := m[r.i0*grid+c.i0]*(1-c.f) + m[r.i0*grid+c.i1]*c.f
			bottom := m[r.i1*grid+c.i0]*(1-c.f) + m[r.i1*grid+c.i1]*c.f
			out[y*w+x] = top*(1-r.f) + bottom*r.f
		}
	}
	return out, nil
}

type tap struct {
	i0, i1 int
	f      float64
}

// axis places n pixels on a grid laid over [start, start+length).
func axis(n int, start, length float64, grid int) ([]tap, []bool) {
	taps, inside := make([]tap, n), make([]bool, n)
	for i := range taps {
		centre := float64(i) + 0.5
		inside[i] = centre >= start && centre < start+length
		g := (centre-start)/length*float64(grid) - 0.5
		g = min(max(g, 0), float64(grid-1))
		i0 := int(g)
		i1 := min(i0+1, grid-1)
		taps[i] = tap{i0, i1, g - float64(i0)}
	}
	return taps, inside
}

// Pixels gathers the pixel-level scores of a test set for pixel AUROC:
// every pixel of a defective image's mask is positive, every other pixel of
// it and of the good images is negative, as the MVTec AD benchmark counts.
type Pixels struct {
	pos, neg []float64
	// Images is how many images added pixels.
	Images int
	// LeftOut counts pixels outside the model's window, which no map
	// covers, and LeftOutDefect those of them inside a mask.
	LeftOut, LeftOutDefect int
}

// Add adds an image's upsampled map (Upsample: NaN outside the window) and
// its mask (nil for a good image: no defect pixel), which must have the
// map's w x h size; a mask pixel above 127 is a defect pixel.
func (p *Pixels) Add(up []float64, w, h int, mask *image.Gray) error {
	if len(up) != w*h {
		return fmt.Errorf("pixel scores: %d values for a %dx%d image", len(up), w, h)
	}
	if mask != nil && (mask.Rect.Dx() != w || mask.Rect.Dy() != h) {
		return fmt.Errorf("mask is %dx%d but the image is %dx%d", mask.Rect.Dx(), mask.Rect.Dy(), w, h)
	}
	p.Images++
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := up[y*w+x]
			defect := mask != nil && mask.Pix[mask.PixOffset(mask.Rect.Min.X+x, mask.Rect.Min.Y+y)] > 127
			switch {
			case math.IsNaN(v):
				p.LeftOut++
				if defect {
					p.LeftOutDefect++
				}
			case defect:
				p.pos = append(p.pos, v)
			default:
				p.neg = append(p.neg, v)
			}
		}
	}
	return nil
}

// Merge adds o's pixels to p's.
func (p *Pixels) Merge(o *Pixels) {
	p.pos = append(p.pos, o.pos...)
	p.neg = append(p.neg, o.neg...)
	p.Images += o.Images
	p.LeftOut += o.LeftOut
	p.LeftOutDefect += o.LeftOutDefect
}

// AUROC is the pixel AUROC; undefined without defect or defect-free pixels.
func (p *Pixels) AUROC() Metric { return SortedAUROC(p.pos, p.neg) }

// SortedAUROC is AUROC for large sets (millions of pixels): the same exact
// figure, ties counting half, from the two sides sorted and merged instead
// of one sort of tagged pairs. It sorts positives and negatives in place.
func SortedAUROC(positives, negatives []float64) Metric {
	if len(positives) == 0 || len(negatives) == 0 {
		return Metric(math.NaN())
	}
	slices.Sort(positives)
	slices.Sort(negatives)
	// For each run of equal positives: the negatives below it count whole,
	// the negatives equal to it half. Counts stay exact in float64 up to 2^53.
	var u float64
	below := 0 // negatives < the current positive value
	for i := 0; i < len(positives); {
		v := positives[i]
		j := i
		for j < len(positives) && positives[j] == v {
			j++
		}
		for below < len(negatives) && negatives[below] < v {
			below++
		}
		equal := below
		for equal < len(negatives) && negatives[equal] == v {
			equal++
		}
		u += float64(j-i) * (float64(below) + 0.5*float64(equal-below))
		i = j
	}
	return Metric(u / (float64(len(positives)) * float64(len(negatives))))
}

// AnomalySample is one test image's anomaly score.
type AnomalySample struct {
	Good  bool
	Label string  // the defect kind of a defective image
	Score float64 // the anomaly score (the map's maximum); NaN when not scored
}

// AnomalyReport measures anomaly scores and maps on a test set.
type AnomalyReport struct {
	Samples   int `json:"samples"`
	Good      int `json:"good"`
	Defective int `json:"defective"`
	// ImageAUROC ranks images by anomaly score, defective positive.
	ImageAUROC Metric `json:"image_auroc"`
	// Kinds is each defect kind's image AUROC against the good images.
	Kinds []KindAUROC `json:"kinds"`
	// PixelAUROC ranks pixels by the upsampled map, mask pixels positive;
	// null when no defective image has a mask.
	PixelAUROC Metric `json:"pixel_auroc"`
	// PixelImages is the number of images whose pixels count: the good
	// ones and the defective ones with a mask.
	PixelImages int `json:"pixel_images"`
	// MasksMissing counts defective images left out of pixel AUROC for
	// want of a mask.
	MasksMissing int `json:"masks_missing"`
	// PixelsLeftOut are the pixels outside the model's window (no map
	// covers them), and DefectPixelsLeftOut the mask pixels among them.
	PixelsLeftOut       int `json:"pixels_left_out"`
	DefectPixelsLeftOut int `json:"defect_pixels_left_out"`
}

// KindAUROC is one defect kind's image AUROC against the good images.
type KindAUROC struct {
	Kind    string `json:"kind"`
	Support int    `json:"support"`
	AUROC   Metric `json:"auroc"`
}

// ComputeAnomaly evaluates anomaly scores, and the pixel scores gathered
// for them (nil when none were).
func ComputeAnomaly(samples []AnomalySample, px *Pixels, masksMissing int) AnomalyReport {
	r := AnomalyReport{Samples: len(samples), MasksMissing: masksMissing, PixelAUROC: Metric(math.NaN())}
	var good, bad []float64
	kinds := map[string][]float64{}
	support := map[string]int{}
	for _, s := range samples {
		if s.Good {
			r.Good++
			good = appendScore(good, s.Score)
			continue
		}
		r.Defective++
		support[s.Label]++
		bad = appendScore(bad, s.Score)
		kinds[s.Label] = appendScore(kinds[s.Label], s.Score)
	}
	r.ImageAUROC = AUROC(bad, good)
	names := make([]string, 0, len(support))
	for k := range support {
		names = append(names, k)
	}
	for _, k := range sorted(names) {
		r.Kinds = append(r.Kinds, KindAUROC{Kind: k, Support: support[k], AUROC: AUROC(kinds[k], good)})
	}
	if px != nil {
		r.PixelImages, r.PixelsLeftOut, r.DefectPixelsLeftOut = px.Images, px.LeftOut, px.LeftOutDefect
		if len(px.pos) > 0 {
			r.PixelAUROC = px.AUROC()
		}
	}
	return r
}
