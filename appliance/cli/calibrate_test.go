package cli

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// --variants int8static calibrates on the line's images: the bundle holds
// the variant and says how many images calibrated it, and the variant
// embeds an image as fp32 does.
func TestStaticInt8BundleFromTheLinesImages(t *testing.T) {
	testenv.RequireORT(t)
	ds := t.TempDir()
	if err := synthetic.WriteDataset(ds, 4, 2); err != nil {
		t.Fatal(err)
	}
	calib := filepath.Join(ds, synthetic.Washer, "test")
	files, err := offline.ImageFiles([]string{calib})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "model")
	mustRun(t, "", "model", "synth", "--preset", "tiny", "--seed", "5", "--out", out,
		"--variants", "fp32,int8static", "--calibration-images", calib, "--threads", "2")
	b, err := bundle.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Variants(), ","); got != "fp32,int8static" || b.Provenance.CalibrationImages != len(files) {
		t.Errorf("variants %s, calibrated on %d images; want fp32,int8static on %d", got, b.Provenance.CalibrationImages, len(files))
	}
	img := files[len(files)-1]
	embed := func(variant string) []float64 {
		r := mustRun(t, "", "model", "embed", "--bundle", out, "--variant", variant, "--image", img)
		var e map[string][][]float64
		if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
			t.Fatal(err)
		}
		return e["image_embeds"][0]
	}
	a, s := embed("fp32"), embed("int8static")
	var dot, na, ns float64
	for i := range a {
		dot, na, ns = dot+a[i]*s[i], na+a[i]*a[i], ns+s[i]*s[i]
	}
	if cos := dot / math.Sqrt(na*ns); cos < 0.98 {
		t.Errorf("int8static embedding's cosine to fp32 %.4f, want at least 0.98", cos)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--variants", "int8static"}, "--calibration-images"},
		{[]string{"--variants", "int8", "--calibration-images", calib}, "int8static"},
		{[]string{"--variants", "int8static", "--calibration-images", filepath.Join(ds, "nothing")}, "nothing"},
	} {
		args := append([]string{"model", "synth", "--preset", "tiny", "--out", filepath.Join(t.TempDir(), "x")}, c.args...)
		if r := run(t, "", args...); r.code == 0 || !strings.Contains(r.stder, c.want) {
			t.Errorf("%v: exit %d, %s", c.args, r.code, r.stder)
		}
	}
}
