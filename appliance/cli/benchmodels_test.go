package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/benchmodels"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/bundle"
)

func TestBenchModelsIsItsOwnCommand(t *testing.T) {
	// "bench models" must not reach `bench`, which would ask for --config.
	r := run(t, "", "bench", "models")
	if r.code != 1 || !strings.Contains(r.stder, "need --bundle") {
		t.Errorf("exit %d, stderr %q; want bench models asking for --bundle", r.code, r.stder)
	}
	r = run(t, "", "bench", "models", "--bundle", "x", "--batches", "1,0")
	if r.code != 1 || !strings.Contains(r.stder, `"0" is not a positive batch size`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stder)
	}
	if r := run(t, "", "bench"); !strings.Contains(r.stder, "need --config") {
		t.Errorf("plain bench no longer asks for --config: %q", r.stder)
	}
	if r := run(t, "", "help"); !strings.Contains(r.stder, "bench models") || strings.Contains(r.stder, benchmodels.ChildArg) {
		t.Errorf("usage should list bench models and hide the child argument:\n%s", r.stder)
	}
}

// TestBenchModelsChildMeasuresAVariant runs the hidden child side in this
// process on a bundle with the new variants, as the parent would start it.
func TestBenchModelsChildMeasuresAVariant(t *testing.T) {
	testenv.RequireORT(t)
	model := synth(t, 1, "fp32,int8w,int8b,int8vnni")
	b, err := bundle.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Variants(), ","); got != "fp32,int8b,int8vnni,int8w" {
		t.Fatalf("bundle variants %s", got)
	}
	spec, err := json.Marshal(benchmodels.Spec{
		Bundle: model, Variant: "int8b", Threads: 1, Batches: []int{1, 2}, MinRuns: 2, Dense: true,
		Prompts: []string{"a photo of a part", "a photo of a scratched part"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, string(spec), "bench", "models", benchmodels.ChildArg)
	var res benchmodels.ChildResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(res.Batches) != 2 || res.Batches[1].Batch != 2 || res.Batches[1].Runs < 2 || res.PeakRSS <= 0 || len(res.PromptEmbeds) != 2 {
		t.Errorf("child result %+v", res)
	}
	if d := res.Dense; d == nil || d.Runs < 2 || d.WithPatches <= 0 || d.EmbedsOnly <= 0 {
		t.Errorf("dense cost %+v", d)
	}
	if r := run(t, "{", "bench", "models", benchmodels.ChildArg); r.code != 1 {
		t.Errorf("a broken spec: exit %d", r.code)
	}
}
