package inspect

import (
	"fmt"
	"image"
	"math"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/frame"
)

// Patches are the patch outputs of one encoder run of n images, the run
// that gave their embeddings.
type Patches struct {
	Layers []int // the layers of Tokens, in order
	Grid   int   // the patches form a Grid x Grid grid, row-major
	// Tokens[i] are the patch tokens [n, Grid*Grid, width] of Layers[i].
	Tokens [][]float32
	// Dense are the patch embeddings [n, Grid*Grid, dim]; nil when the
	// model lacks them.
	Dense []float32
}

// PatchEmbedder is an encoder that can also give the patch outputs of the
// run that embeds the images, so anomaly maps cost no second run.
type PatchEmbedder interface {
	Embedder
	// EmbedPatches is Embed, with the patch outputs of the same run. The
	// slices may be reused by the next call.
	EmbedPatches(pixels []float32, n int) ([]float32, Patches, error)
}

// AnomalyDetector is a set's anomaly detection as the loop runs it: the maps
// and the threshold at which a frame FAILs.
type AnomalyDetector struct {
	Maps      anomaly.Detector
	Threshold float64
}

// Detectors maps each camera whose set detects anomalies to its detector.
// Like Scorers, the loop reads it once per batch.
type Detectors map[string]*AnomalyDetector

// anomalyGeometry is how a frame's pixels reach the model's input.
type anomalyGeometry struct {
	window func(w, h int) preprocess.Window
	crop   int // the model's input is crop x crop
}

func (g anomalyGeometry) windowOf(f *frame.Frame) preprocess.Window {
	if g.window == nil {
		return preprocess.Window{W: float64(f.Width), H: float64(f.Height)}
	}
	return g.window(f.Width, f.Height)
}

// inspect makes the anomaly fields of frame f, image row of a run of n
// images with patch outputs p: the maps, the score against the threshold,
// the quantised map with the window of f it covers, and the region, both in
// f's pixels and in the source camera's.
func (d *AnomalyDetector) inspect(p Patches, row, n int, f *frame.Frame, geo anomalyGeometry) (*defects.Anomaly, error) {
	g := p.Grid
	patches := g * g
	if patches == 0 {
		return nil, fmt.Errorf("anomaly map: the encoder gave no patch outputs")
	}
	var tokens [][]float32
	if d.Maps.Bank != nil {
		for _, l := range d.Maps.Bank.Layers() {
			i := indexOf(p.Layers, l)
			if i < 0 {
				return nil, fmt.Errorf("anomaly map: the encoder gives the patch tokens of layers %v, not of memory layer %d", p.Layers, l)
			}
			per := len(p.Tokens[i]) / n
			tokens = append(tokens, p.Tokens[i][row*per:(row+1)*per])
		}
	}
	var dense []float32
	if d.Maps.Classes != nil {
		if p.Dense == nil {
			return nil, fmt.Errorf("anomaly map: the encoder gives no dense patch embeddings for the zero-shot map")
		}
		per := len(p.Dense) / n
		dense = p.Dense[row*per : (row+1)*per]
	}
	maps, err := d.Maps.Maps(tokens, dense, patches)
	if err != nil {
		return nil, err
	}
	win := geo.windowOf(f)
	wx0, wy0 := int(math.Round(win.X)), int(math.Round(win.Y))
	wx1, wy1 := int(math.Round(win.X+win.W)), int(math.Round(win.Y+win.H))
	a := &defects.Anomaly{
		Score: maps.Score, Threshold: d.Threshold, Grid: g, Map: anomaly.Quantise(maps.Map),
		Window: &defects.Region{X: wx0, Y: wy0, W: wx1 - wx0, H: wy1 - wy0},
	}
	if maps.Score < d.Threshold {
		return a, nil
	}
	box, ok := regionInFrame(maps.Map, g, d.Threshold, f, win, geo.crop)
	if !ok {
		return a, nil
	}
	a.Box = regionOf(box)
	a.Region = regionOf(f.Orient.ToSource(box, f.Width, f.Height))
	return a, nil
}

// regionInFrame is the region of map m in the pixels of frame f: the box of
// the largest connected area at or above threshold of the map upsampled
// over the crop x crop model input, mapped through the window the input
// covers. When upsampling smooths the peak below the threshold the peak's
// own patch is the region. ok is false when the region lies only in the
// input's padding.
func regionInFrame(m []float64, g int, threshold float64, f *frame.Frame, win preprocess.Window, crop int) (image.Rectangle, bool) {
	box, ok := anomaly.LargestRegion(anomaly.Upsample(m, g, crop, crop), crop, crop, threshold)
	if !ok {
		peak := 0
		for i, v := range m {
			if v > m[peak] {
				peak = i
			}
		}
		px, py := peak%g, peak/g
		box = image.Rect(px*crop/g, py*crop/g, (px+1)*crop/g, (py+1)*crop/g)
	}
	x0, y0 := win.FromCrop(float64(box.Min.X), float64(box.Min.Y), crop, crop)
	x1, y1 := win.FromCrop(float64(box.Max.X), float64(box.Max.Y), crop, crop)
	// Outward to whole pixels, forgiving the float error of an exact edge.
	const eps = 1e-6
	r := image.Rect(int(math.Floor(x0+eps)), int(math.Floor(y0+eps)), int(math.Ceil(x1-eps)), int(math.Ceil(y1-eps)))
	r = r.Intersect(image.Rect(0, 0, f.Width, f.Height))
	return r, !r.Empty()
}

func regionOf(r image.Rectangle) *defects.Region {
	return &defects.Region{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy()}
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
