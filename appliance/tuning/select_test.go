package tuning

import (
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
)

// fakeProcess models resident memory: each loaded variant adds its weights,
// a warm-up adds per-image activations that stay (like ORT's arena).
type fakeProcess struct {
	rss     int64
	weights map[string]int64
	perImg  map[string]int64
	loads   []string
}

type fakeLoaded struct {
	p       *fakeProcess
	variant string
	held    int64
}

func (p *fakeProcess) load(v string) (Loaded, error) {
	p.loads = append(p.loads, v)
	p.rss += p.weights[v]
	return &fakeLoaded{p: p, variant: v, held: p.weights[v]}, nil
}

func (l *fakeLoaded) Warm(n int) error {
	add := int64(n) * l.p.perImg[l.variant]
	l.p.rss += add
	l.held += add
	return nil
}

func (l *fakeLoaded) Close() { l.p.rss -= l.held }

func TestSelectTakesTheHeaviestThatFits(t *testing.T) {
	cases := []struct {
		name      string
		capMB     int64
		estimates map[string]Estimate // what the architecture suggests
		variant   string
		batch     int
		loads     string
		err       string
	}{
		{name: "everything fits", capMB: 1000, variant: "fp32", batch: 8, loads: "fp32"},
		{name: "fp32 estimated too big: int8 at full batch", capMB: 400, variant: "int8", batch: 8, loads: "int8"},
		{name: "fp32 fits on paper, measured peak does not: smaller batch", capMB: 600,
			estimates: map[string]Estimate{"fp32": {Weights: 300 * MB, PerImage: 10 * MB}}, variant: "fp32", batch: 3, loads: "fp32 fp32"},
		{name: "nothing fits", capMB: 150, err: "nothing fits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProcess{rss: 100 * MB,
				weights: map[string]int64{"fp32": 300 * MB, "int8": 100 * MB},
				perImg:  map[string]int64{"fp32": 40 * MB, "int8": 20 * MB}}
			est := map[string]Estimate{"fp32": {300 * MB, 40 * MB}, "int8": {100 * MB, 20 * MB}}
			for k, v := range c.estimates {
				est[k] = v
			}
			s := Selector{Cap: c.capMB * MB, MaxBatch: 8, Load: p.load,
				Candidates: []Candidate{{"fp32", est["fp32"]}, {"int8", est["int8"]}},
				RSS:        func() (int64, error) { return p.rss, nil }}
			plan, err := s.Select()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				if p.rss != 100*MB {
					t.Errorf("a failed selection left %d MB loaded", p.rss/MB)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.Variant != c.variant || plan.Batch != c.batch || strings.Join(p.loads, " ") != c.loads {
				t.Errorf("chose %s batch %d after loading %v; want %s batch %d after %s (%s)", plan.Variant, plan.Batch, p.loads, c.variant, c.batch, c.loads, plan.Reason)
			}
			if p.rss > int64(0.9*float64(c.capMB*MB)) || plan.PeakMB*MB > c.capMB*MB {
				t.Errorf("resident %d MB after choosing, cap %d MB", p.rss/MB, c.capMB)
			}
		})
	}
}

func TestEstimateGrowsWithTheArchitecture(t *testing.T) {
	small, err := arch.Preset("vit-b-32")
	if err != nil {
		t.Fatal(err)
	}
	large, err := arch.Preset("vit-l-14")
	if err != nil {
		t.Fatal(err)
	}
	s := EstimateVariant(small.VisionConfig, "fp32", 350*MB)
	l := EstimateVariant(large.VisionConfig, "fp32", 1200*MB)
	h := EstimateVariant(large.VisionConfig, "fp16", 600*MB)
	if !(s.PerImage < h.PerImage && h.PerImage < l.PerImage) || l.Weights <= s.Weights {
		t.Errorf("estimates: b32 %+v, l14 fp32 %+v, l14 fp16 %+v", s, l, h)
	}
	// ViT-L/14 at 224: 257 tokens; one image is tens of MB of activations.
	if l.PerImage < 20*MB || l.PerImage > 200*MB {
		t.Errorf("ViT-L/14 per-image estimate %d MB is implausible", l.PerImage/MB)
	}
}
