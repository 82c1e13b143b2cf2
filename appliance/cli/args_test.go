package cli

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

func TestParseTakesFlagsAnywhere(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "")
	verbose := fs.Bool("v", false, "")
	err := parse(fs, []string{"a", "--out", "f.jsonl", "b", "-v", "-", "--", "--c", "-v"})
	if err != nil {
		t.Fatal(err)
	}
	if *out != "f.jsonl" || !*verbose {
		t.Errorf("flags after arguments not set: out %q v %v", *out, *verbose)
	}
	if got, want := fs.Args(), []string{"a", "b", "-", "--c", "-v"}; !slices.Equal(got, want) {
		t.Errorf("arguments %q, want %q (in order; after -- every word is one)", got, want)
	}
	if err := parse(fs, []string{"a", "--bogus"}); err != errUsage {
		t.Errorf("unknown flag after an argument: %v, want a usage error", err)
	}
}

// The issue's own case: --out after the directory used to be taken for an
// image path, after the model had loaded.
func TestInspectFlagsAfterTheDirectory(t *testing.T) {
	testenv.RequireORT(t)
	cfg, _ := offlineConfig(t)
	ds := t.TempDir()
	if err := synthetic.WriteDataset(ds, 1, 5); err != nil {
		t.Fatal(err)
	}
	test := filepath.Join(ds, synthetic.Washer, "test", "good")
	out := filepath.Join(t.TempDir(), "f.jsonl")
	r := mustRun(t, "", "inspect", test, "--config", cfg, "--out", out)
	if r.stdout != "" {
		t.Errorf("stdout with --out: %q", r.stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("--out after the directory: %v\n%s", err, r.stder)
	}
	if n := len(parseLines(t, string(data))); n != 1 {
		t.Errorf("%d verdicts in %s, want 1", n, out)
	}
}

func TestFlagOnlyCommandsRefuseArguments(t *testing.T) {
	r := run(t, "", "run", "linesight.yaml")
	if r.code != 2 || !strings.Contains(r.stder, `unexpected argument "linesight.yaml"`) {
		t.Errorf("run with an argument: exit %d\n%s", r.code, r.stder)
	}
	r = run(t, "", "trigger", "--camera", "cam0", "P-1")
	if r.code != 2 || !strings.Contains(r.stder, `unexpected argument "P-1"`) {
		t.Errorf("trigger with an argument: exit %d\n%s", r.code, r.stder)
	}
}

func TestGroupsListTheirCommands(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"user", "--help"}, 0, []string{"linesight user COMMAND", "user add"}},
		{[]string{"user", "-h"}, 0, []string{"user add"}},
		{[]string{"model"}, 2, []string{"model synth", "model import", "model embed", `"model" needs a command`}},
		{[]string{"journal"}, 2, []string{"journal export", "journal stats", "journal rescore"}},
		{[]string{"model", "frob"}, 2, []string{"model synth", `unknown command "model frob"`}},
	}
	for _, tt := range tests {
		r := run(t, "", tt.args...)
		if r.code != tt.code {
			t.Errorf("linesight %s: exit %d, want %d\n%s", strings.Join(tt.args, " "), r.code, tt.code, r.stder)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stder, w) {
				t.Errorf("linesight %s: stderr lacks %q:\n%s", strings.Join(tt.args, " "), w, r.stder)
			}
		}
		if strings.Contains(r.stder, "classify") {
			t.Errorf("linesight %s lists commands outside the group:\n%s", strings.Join(tt.args, " "), r.stder)
		}
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if r := run(t, "", args...); r.code != 0 || r.stdout != "linesight "+Version+"\n" {
			t.Errorf("linesight %s: exit %d, stdout %q, stderr %q", args[0], r.code, r.stdout, r.stder)
		}
	}
	if r := run(t, "", "help", "trigger"); r.code != 0 || !strings.Contains(r.stder, "-part-id") {
		t.Errorf("help trigger: exit %d\n%s", r.code, r.stder)
	}
}
