package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/config"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("defects.yaml", `version: 1
sets:
  brackets:
    good: {prompts: ["a good bracket"], threshold: 0.6}
    defects:
      - {name: scratch, prompts: ["a scratched bracket"], threshold: 0.5}
`)
	model := synth(t, 1, "fp32")
	good := write("good.yaml", `line: line1
defects: defects.yaml
model: {bundle: `+model+`, providers: [{name: cuda}, {name: cpu}]}
cameras:
  - {id: cam0, source: {kind: synthetic}}
  - {id: cam1, source: {kind: stream, url: "rtsp://cam1/s"}, mode: triggered}
mqtt: {broker: tcp://plc}
`)
	// The model is not loaded, but its files must be there.
	noBundle := write("nobundle.yaml", `line: line1
defects: defects.yaml
model: {bundle: models/tiny}
cameras:
  - {id: cam0, source: {kind: synthetic}}
`)
	noVariant := write("novariant.yaml", `line: line1
defects: defects.yaml
model: {bundle: `+model+`, variant: int8}
cameras:
  - {id: cam0, source: {kind: synthetic}}
`)
	// The appliance's configuration hash and the defect file's are two
	// things, printed under the names the MQTT status gives them.
	cfg, err := config.LoadAppliance(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Hash() == cfg.Classes().Hash() {
		t.Fatal("the two hashes are equal; the test could not tell them apart")
	}
	bad := write("bad.yaml", `line: line1
defects: defects.yaml
model: {bundle: m, threads: -2}
cameras:
  - {id: cam0, source: {kind: synthetic}, rotate: 45}
pipline: {}
`)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{
			name: "valid file", args: []string{good}, code: 0,
			stdout: []string{
				good + ": ok",
				"line         line1",
				"cameras      2: cam0 (synthetic, freerun), cam1 (stream, triggered)",
				"model        " + model + " (fp32; providers: cuda, cpu)",
				"defects      " + filepath.Join(dir, "defects.yaml") + " (sets: brackets)",
				"mqtt         tcp://plc:1883 as linesight-line1",
				"web          127.0.0.1:8080",
				"config_hash  " + cfg.Hash() + "\n",
				"defects_hash " + cfg.Classes().Hash() + "\n",
			},
		},
		{
			name: "every problem, one per line", args: []string{bad}, code: 1,
			stderr: []string{
				bad + ":3: model.threads: -2 is out of range",
				bad + ":5: cameras[0].rotate: 45 is not accepted",
				bad + `:6: pipline: unknown key "pipline"`,
				"linesight check-config: " + bad + ": 3 problems",
			},
		},
		{name: "--config like every command", args: []string{"--config", good}, code: 0, stdout: []string{good + ": ok"}},
		{
			name: "no model bundle", args: []string{"--config", noBundle}, code: 1,
			stderr: []string{noBundle + ": model.bundle: model bundle folder " + filepath.Join(dir, "models/tiny") + " does not exist"},
		},
		{
			name: "bundle without the variant", args: []string{noVariant}, code: 1,
			stderr: []string{noVariant + ": model.bundle: model bundle " + model + " lacks onnx/vision_model_int8.onnx and onnx/text_model_int8.onnx of variant int8 (variants present: fp32)"},
		},
		{name: "--config and an argument", args: []string{"--config", good, bad}, code: 2, stderr: []string{"Usage: linesight check-config --config FILE"}},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.yaml")}, code: 1, stderr: []string{"no such file"}},
		{name: "no file", args: nil, code: 2, stderr: []string{"Usage: linesight check-config --config FILE"}},
		{name: "two files", args: []string{good, bad}, code: 2, stderr: []string{"Usage: linesight check-config --config FILE"}},
		{name: "bad flag", args: []string{"--strict", good}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"check-config"}, tt.args...)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stder)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(r.stder, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stder)
				}
			}
			if tt.code == 1 && strings.Contains(r.stder, "bad.yaml") {
				// one line per problem plus the closing count
				if n := strings.Count(strings.TrimSpace(r.stder), "\n") + 1; n != 4 {
					t.Errorf("%d lines on stderr, want 4:\n%s", n, r.stder)
				}
			}
		})
	}
}
