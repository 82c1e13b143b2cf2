package inspect

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

// A camera with two regions sends two images per frame through the model,
// each judged by its region's scorer; the part's verdict is the worst
// region's and lists both. A camera without regions in the same batch keeps
// its own image: rows never pair with the wrong frame.
func TestRegionsAreJudgedApartAndTheWorstDecides(t *testing.T) {
	regions := []RegionOptions{
		{Name: "left", Box: defects.Region{X: 0, Y: 0, W: 1, H: 1}},
		{Name: "right", Box: defects.Region{X: 1, Y: 0, W: 1, H: 1}},
	}
	cam := freeRun("cam0", 8)
	cam.Regions = regions
	emb := &fakeEmbedder{gate: make(chan struct{}, 8)}
	opts := Options{BatchSize: 2, BatchWait: time.Hour, Cameras: []CameraOptions{cam, freeRun("cam1", 8)}}
	h := start(t, opts, emb)
	s := scorerFor(t, "a good part")
	h.loop.SetScorers(Scorers{RegionKey("cam0", "left"): s, RegionKey("cam0", "right"): s, "cam1": s})

	// Two pixels a frame: the left region sees the first, the right the
	// second; even is good, odd scratched.
	submit := func(camera string, left, right byte) {
		f := h.pool.Get(2, 1, 6)
		h.seq[camera]++
		f.Camera, f.Seq, f.CapturedAt = camera, h.seq[camera], h.t0
		f.Pix[0], f.Pix[3] = left, right
		h.loop.Submit(f)
	}
	submit("cam0", 2, 3) // right scratched: FAIL by right
	submit("cam1", 2, 0) // whole frame: good
	emb.gate <- struct{}{}
	submit("cam0", 4, 6) // both good: PASS
	submit("cam1", 5, 0) // whole frame: scratched
	emb.gate <- struct{}{}
	vs := h.wait(4)

	if got := emb.batchSizes(); !slices.Equal(got, []int{3, 3}) {
		t.Errorf("images per run %v, want [3 3]: two regions of cam0 and one frame of cam1", got)
	}
	byCam := map[string][]defects.Verdict{}
	for _, v := range vs {
		byCam[v.Camera] = append(byCam[v.Camera], v)
	}
	a, b := byCam["cam0"][0], byCam["cam0"][1]
	if a.Outcome != defects.Fail || a.Region != "right" || a.Class != "scratch" || len(a.Regions) != 2 ||
		a.Regions[0].Outcome != defects.Pass || a.Regions[1].Outcome != defects.Fail || a.Regions[1].Box.X != 1 {
		t.Errorf("cam0 frame 1: %s by region %q, regions %+v; want FAIL by right (scratch), left PASS", a.Outcome, a.Region, a.Regions)
	}
	if b.Outcome != defects.Pass || len(b.Regions) != 2 || b.Embedding != nil {
		t.Errorf("cam0 frame 2: %s, %d regions, embedding %v; want PASS of two regions and no embedding", b.Outcome, len(b.Regions), b.Embedding)
	}
	if c := byCam["cam1"]; c[0].Outcome != defects.Pass || c[1].Outcome != defects.Fail || c[0].Regions != nil {
		t.Errorf("cam1 without regions: %s then %s, regions %v; want PASS then FAIL, none", c[0].Outcome, c[1].Outcome, c[0].Regions)
	}
}

// A region that does not fit the frame makes a triggered part MISSED with
// the reason, never a verdict judged on the wrong pixels.
func TestRegionOutsideTheFrameIsMissed(t *testing.T) {
	cam := triggered("cam0", 8)
	cam.Regions = []RegionOptions{{Name: "label", Box: defects.Region{X: 1, Y: 0, W: 4, H: 1}}}
	h := start(t, Options{BatchSize: 1, Cameras: []CameraOptions{cam}}, &fakeEmbedder{})
	if err := h.loop.Trigger("cam0", "P-1", h.t0); err != nil {
		t.Fatal(err)
	}
	f := h.pool.Get(2, 1, 6)
	f.Camera, f.Seq, f.CapturedAt = "cam0", 1, h.t0.Add(time.Millisecond)
	h.loop.Submit(f)
	v := h.wait(1)[0]
	if v.Outcome != defects.Missed || v.PartID != "P-1" || !containsAll(v.Reason, `region "label"`, "2x1 frame") {
		t.Errorf("verdict %s %q: %s; want MISSED naming the region and the frame", v.Outcome, v.PartID, v.Reason)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
