package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

func TestDatasetSynthWritesTheLayoutAndRefusesAFullFolder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ds")
	r := mustRun(t, "", "dataset", "synth", "--out", out, "--n", "2", "--seed", "3", "--parts", "bracket")
	if !strings.Contains(r.stdout, "wrote "+out) {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stder, "dataset synth progress") {
		t.Errorf("no progress on stderr:\n%s", r.stder)
	}
	want := []string{"train/good/000.png", "train/good/001.png", "test/good/001.png"}
	for _, d := range synthetic.DefectKinds {
		want = append(want, "test/"+d+"/001.png", "ground_truth/"+d+"/001_mask.png")
	}
	for _, f := range want {
		if _, err := os.Stat(filepath.Join(out, "bracket", f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}

	// The folder now holds a dataset: a second run must not mix into it.
	r = run(t, "", "dataset", "synth", "--out", out, "--n", "1", "--parts", "bracket")
	if r.code != 1 || !strings.Contains(r.stder, "is not empty") || !strings.Contains(r.stder, "--force") {
		t.Errorf("second run into a full folder: exit %d\n%s", r.code, r.stder)
	}
	if _, err := os.Stat(filepath.Join(out, "bracket", "test", "good", "001.png")); err != nil {
		t.Errorf("refused run changed the dataset: %v", err)
	}
	// --force replaces the category: no picture of the larger set stays.
	mustRun(t, "", "dataset", "synth", "--out", out, "--n", "1", "--parts", "bracket", "--force")
	if _, err := os.Stat(filepath.Join(out, "bracket", "test", "good", "001.png")); !os.IsNotExist(err) {
		t.Errorf("--force kept a picture of the earlier, larger set: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "bracket", "test", "good", "000.png")); err != nil {
		t.Errorf("--force run wrote nothing: %v", err)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--n", "1"}, 2, "Usage: linesight dataset synth --out DIR"},
		{[]string{"--out", t.TempDir(), "--n", "0"}, 1, "--n 0"},
		{[]string{"--out", t.TempDir(), "--parts", "gear"}, 1, `unknown part type "gear"`},
	} {
		r := run(t, "", append([]string{"dataset", "synth"}, tt.args...)...)
		if r.code != tt.code || !strings.Contains(r.stder, tt.want) {
			t.Errorf("dataset synth %v: exit %d, want %d and %q\n%s", tt.args, r.code, tt.code, tt.want, r.stder)
		}
	}
}
