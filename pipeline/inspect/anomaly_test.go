package inspect

import (
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/frame"
)

// patchEmbedder is fakeEmbedder with patch outputs: a frame whose first byte
// has bit 1 set shows an anomaly in the patches listed in hot (a 4x4 grid):
// their dense embeddings point along the defect axis, the others along the
// good one. It counts the runs of each kind.
type patchEmbedder struct {
	fakeEmbedder
	hot []int

	mu            sync.Mutex
	embedRuns     int
	patchRuns     int
	imagesPatched int
}

const testGrid = 4

func (e *patchEmbedder) Embed(px []float32, n int) ([]float32, error) {
	e.mu.Lock()
	e.embedRuns++
	e.mu.Unlock()
	return e.fakeEmbedder.Embed(px, n)
}

func (e *patchEmbedder) EmbedPatches(px []float32, n int) ([]float32, Patches, error) {
	e.mu.Lock()
	e.patchRuns++
	e.imagesPatched += n
	e.mu.Unlock()
	emb, err := e.fakeEmbedder.Embed(px, n)
	if err != nil {
		return nil, Patches{}, err
	}
	per := len(px) / n
	patches := testGrid * testGrid
	dense := make([]float32, n*patches*2)
	for i := 0; i < n; i++ {
		anomalous := int(px[i*per])&2 != 0
		for p := 0; p < patches; p++ {
			d := dense[(i*patches+p)*2:]
			d[0] = 1
			if anomalous && contains(e.hot, p) {
				d[0], d[1] = 0, 1
			}
		}
	}
	return emb, Patches{Grid: testGrid, Dense: dense}, nil
}

func (e *patchEmbedder) runs() (embed, patch int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.embedRuns, e.patchRuns
}

func contains(s []int, v int) bool { return indexOf(s, v) >= 0 }

// zeroShotDetector compares each patch with the good and defect axes; with a
// scale of 100 a patch on the defect axis scores 1, one on the good axis 0.
func zeroShotDetector(threshold float64) *AnomalyDetector {
	return &AnomalyDetector{Maps: anomaly.Detector{Classes: [][]float32{{1, 0}, {0, 1}}, Scale: 100}, Threshold: threshold}
}

// The region of an anomaly, from the 4x4 map through the model's 224 px crop,
// the resize, and the camera's flip, rotation and ROI, back to the source
// camera's pixels, against boxes worked out by hand.
func TestAnomalyRegionInFrameAndSourcePixels(t *testing.T) {
	// Hot patches: rows 0-1, columns 2-3 of the 4x4 grid.
	emb := &patchEmbedder{hot: []int{2, 3, 6, 7}}
	params := preprocess.DefaultParams()
	h := start(t, Options{BatchSize: 1, ImageSize: 224, Window: params.SourceWindow,
		Cameras: []CameraOptions{freeRun("cam0", 8)}}, &emb.fakeEmbedder)
	h.loop.SetEmbedder(emb)
	h.loop.SetDetectors(Detectors{"cam0": zeroShotDetector(0.5)})

	// The camera crops a 400x300 ROI at (40, 20) of its source, turns it a
	// quarter clockwise and mirrors it: the frame is 300 wide, 400 high.
	f := h.pool.Get(300, 400, 900)
	f.Camera, f.Seq, f.CapturedAt = "cam0", 1, h.t0
	f.Orient = frame.Orientation{CropX: 40, CropY: 20, Rotate: 90, FlipH: true}
	f.Pix[0] = 2 // a good part by its image, with an anomaly in its patches
	h.loop.Submit(f)
	v := h.wait(1)[0]

	a := v.Anomaly
	if a == nil {
		t.Fatalf("verdict without anomaly fields: %+v", v)
	}
	// Upsampled bilinearly to 224 x 224 (cells of 56 px), the map is at
	// least 0.5 up to half a cell outside the hot cells: pixel x reads the
	// map at (x+0.5)/56-0.5, which is 1.5 at x = 111.5. So the crop's
	// region is x 112..224, y 0..112.
	//
	// The 300x400 frame resizes to 224x298 (298.67 truncated); the crop
	// starts round(74/2) = 37 rows down. The window is x 0..300, y
	// 37*400/298 = 49.66 .. 261*400/298 = 350.34. Crop x 112..224 is frame
	// x 150..300; crop y 0..112 is frame y 49.66..149*400/298 = 200, out to
	// whole pixels 49..200.
	if want := (defects.Region{X: 150, Y: 49, W: 150, H: 151}); a.Box == nil || *a.Box != want {
		t.Errorf("box in the frame %+v, want %+v", a.Box, want)
	}
	if want := (defects.Region{X: 0, Y: 50, W: 300, H: 300}); a.Window == nil || *a.Window != want {
		t.Errorf("window %+v, want %+v", a.Window, want)
	}
	// Back to the source: unmirrored, frame x 150..300 is x 0..150. The
	// quarter turn showed cropped pixel (y, 299-x) at (x, y): cropped x is
	// frame y 49..200, cropped y is 300-150..300-0 = 150..300. Plus the
	// ROI's corner (40, 20): x 89..240, y 170..320.
	if want := (defects.Region{X: 89, Y: 170, W: 151, H: 150}); a.Region == nil || *a.Region != want {
		t.Errorf("region in the source %+v, want %+v", a.Region, want)
	}
	if a.Grid != testGrid || len(a.Map) != testGrid*testGrid || a.Map[2] != 255 || a.Map[0] != 0 {
		t.Errorf("quantised map: grid %d, %v", a.Grid, a.Map)
	}
}

// A score at or above the threshold FAILs a part the image scoring passes,
// with class anomaly and the score as confidence; a part a defect class
// FAILs keeps that class, with the anomaly fields; below the threshold the
// image verdict stands and there is no region.
func TestAnomalyFailRule(t *testing.T) {
	emb := &patchEmbedder{hot: []int{5}}
	h := start(t, Options{BatchSize: 1, Cameras: []CameraOptions{freeRun("cam0", 8)}}, &emb.fakeEmbedder)
	h.loop.SetEmbedder(emb)
	h.loop.SetDetectors(Detectors{"cam0": zeroShotDetector(0.5)})
	h.frame("cam0", 2, 0)                  // good image, anomalous patch
	h.frame("cam0", 3, time.Millisecond)   // scratched image, anomalous patch
	h.frame("cam0", 0, 2*time.Millisecond) // good image, no anomaly
	vs := h.wait(3)

	if v := vs[0]; v.Outcome != defects.Fail || v.Class != defects.AnomalyClass || v.Action != defects.ActionReject ||
		v.Anomaly == nil || v.Confidence != v.Anomaly.Score || v.Anomaly.Score < 0.99 || v.Anomaly.Region == nil {
		t.Errorf("anomalous good part: %s %s %s confidence %g, anomaly %+v; want FAIL anomaly reject with the score as confidence and a region",
			v.Outcome, v.Class, v.Action, v.Confidence, v.Anomaly)
	}
	if v := vs[1]; v.Outcome != defects.Fail || v.Class != "scratch" || v.Anomaly == nil || v.Anomaly.Region == nil {
		t.Errorf("scratched anomalous part: %s %s confidence %g, anomaly %+v; want FAIL scratch with the anomaly fields",
			v.Outcome, v.Class, v.Confidence, v.Anomaly)
	}
	if v := vs[2]; v.Outcome != defects.Pass || v.Anomaly == nil || v.Anomaly.Score > 0.01 || v.Anomaly.Region != nil || v.Anomaly.Threshold != 0.5 {
		t.Errorf("good part: %s, anomaly %+v; want PASS with a low score and no region", v.Outcome, v.Anomaly)
	}
}

// With a detector the encoder runs once per batch, for the embeddings and
// the patch outputs together; cameras without one need no patch outputs.
func TestAnomalyMapsComeFromTheSameRun(t *testing.T) {
	emb := &patchEmbedder{hot: []int{0}}
	gate := make(chan struct{})
	emb.gate = gate
	h := start(t, Options{BatchSize: 4, BatchWait: time.Hour, Cameras: []CameraOptions{freeRun("cam0", 8), freeRun("cam1", 8)}}, &emb.fakeEmbedder)
	h.loop.SetEmbedder(emb)
	h.loop.SetDetectors(Detectors{"cam0": zeroShotDetector(0.5)})
	// Batch 1: both cameras; batch 2: cam1 alone.
	for i := range 4 {
		cam := []string{"cam0", "cam1"}[i%2]
		h.frame(cam, 2, time.Duration(i)*time.Millisecond)
	}
	gate <- struct{}{}
	h.wait(4)
	for i := range 4 {
		h.frame("cam1", 2, time.Duration(10+i)*time.Millisecond)
	}
	gate <- struct{}{}
	vs := h.wait(8)
	embed, patch := emb.runs()
	if embed != 1 || patch != 1 {
		t.Errorf("%d plain runs and %d runs with patch outputs, want 1 and 1: one run per batch", embed, patch)
	}
	for _, v := range vs {
		if (v.Camera == "cam0") != (v.Anomaly != nil) {
			t.Errorf("%s seq %d: anomaly %+v; only cam0 detects anomalies", v.Camera, v.Seq, v.Anomaly)
		}
	}
}

// An encoder without patch outputs keeps image-level verdicts.
func TestAnomalyWithoutPatchOutputsKeepsImageVerdicts(t *testing.T) {
	h := start(t, Options{BatchSize: 1, Cameras: []CameraOptions{freeRun("cam0", 8)}}, &fakeEmbedder{})
	h.loop.SetDetectors(Detectors{"cam0": zeroShotDetector(0.5)})
	h.frame("cam0", 2, 0)
	v := h.wait(1)[0]
	if v.Outcome != defects.Pass || v.Anomaly != nil {
		t.Errorf("verdict %s anomaly %+v, want the image verdict PASS without anomaly fields", v.Outcome, v.Anomaly)
	}
	if h.loop.AnomalyErrs.Value() != 1 {
		t.Errorf("anomaly errors %d, want 1", h.loop.AnomalyErrs.Value())
	}
}
