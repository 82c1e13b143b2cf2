package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// problem is one expected error: the file it names (relative to the test's
// directory), its line, its path and a part of its message.
type problem struct {
	file string
	line int
	path string
	msg  string
}

func TestEveryProblemNamesFileLineAndPath(t *testing.T) {
	tests := []struct {
		name   string
		config string
		extra  map[string]string // files beside it; defects.yaml is classesYAML unless given
		want   []problem
	}{
		{
			name:   "unknown key",
			config: minimal + "pipline:\n  batch_size: 2\n",
			want:   []problem{{"linesight.yaml", 8, "pipline", `unknown key "pipline" (accepted: line, data_dir, defects, model, cameras, pipeline, mqtt, web, journal, performance, escalation, alarms, shifts, parts, modbus, opcua)`}},
		},
		{
			name: "part stages",
			config: minimal + "  - {id: cam1, mode: triggered, source: {kind: synthetic}}\n" +
				"  - {id: cam2, mode: triggered, source: {kind: synthetic}}\n" +
				"parts:\n" +
				"  - {name: cam1, cameras: [cam1, cam2]}\n" +
				"  - {name: housing, cameras: [cam0, cam2, cam9], deadline: 2m}\n" +
				"  - {name: lid, cameras: [cam1]}\n",
			want: []problem{
				{"linesight.yaml", 11, "parts[0].name", `"cam1" is a camera's id`},
				{"linesight.yaml", 12, "parts[1].cameras[0]", `camera "cam0" is freerun: only triggered cameras give part ids`},
				{"linesight.yaml", 12, "parts[1].cameras[1]", `camera "cam2" is already in part stage cam1`},
				{"linesight.yaml", 12, "parts[1].cameras[2]", `no camera "cam9" (ids: cam0, cam1, cam2)`},
				{"linesight.yaml", 12, "parts[1].deadline", "2m is out of range (accepted: 10ms to 1m)"},
				{"linesight.yaml", 13, "parts[2].cameras", "1 cameras: a part stage fuses the views of two or more"},
				{"linesight.yaml", 13, "parts[2].cameras[0]", `camera "cam1" is already in part stage cam1`},
			},
		},
		{
			name:   "wrong type",
			config: minimal + "pipeline:\n  batch_size: four\n",
			want:   []problem{{"linesight.yaml", 9, "pipeline.batch_size", `expected an integer, got "four"`}},
		},
		{
			name:   "wrong type of duration",
			config: minimal + "journal:\n  max_age: 30\n",
			want:   []problem{{"linesight.yaml", 9, "journal.max_age", "expected a duration"}},
		},
		{
			name:   "out of range",
			config: minimal + "pipeline:\n  batch_size: 100\n",
			want:   []problem{{"linesight.yaml", 9, "pipeline.batch_size", "100 is out of range (accepted: 1 to 64)"}},
		},
		{
			name:   "duration out of range",
			config: minimal + "    stall_timeout: 0s\n",
			want:   []problem{{"linesight.yaml", 8, "cameras[0].stall_timeout", "0s is out of range (accepted: 100ms to 1h)"}},
		},
		{
			name:   "bad enum",
			config: minimal + "    mode: sometimes\n",
			want:   []problem{{"linesight.yaml", 8, "cameras[0].mode", `unknown value "sometimes" (accepted: freerun, triggered)`}},
		},
		{
			name:   "bad rotation",
			config: minimal + "    rotate: 45\n",
			want:   []problem{{"linesight.yaml", 8, "cameras[0].rotate", "45 is not accepted (accepted: 0, 90, 180, 270"}},
		},
		{
			name:   "invalid line id",
			config: strings.Replace(minimal, "line: line1", "line: line 1/a", 1),
			want:   []problem{{"linesight.yaml", 1, "line", `"line 1/a" is not a valid line id (accepted: 1 to 64 letters, digits, _ or -)`}},
		},
		{
			name:   "duplicate camera id",
			config: minimal + "  - id: cam0\n    source: {kind: synthetic}\n",
			want:   []problem{{"linesight.yaml", 8, "cameras[1].id", `duplicate camera id "cam0" (first at cameras[0], line 6)`}},
		},
		{
			name:   "source problem at its key",
			config: minimal + "  - id: cam1\n    source:\n      kind: stream\n",
			want:   []problem{{"linesight.yaml", 9, "cameras[1].source.url", "required, e.g. rtsp://"}},
		},
		{
			name:   "source key of another kind",
			config: minimal + "  - id: cam1\n    source:\n      kind: stream\n      url: rtsp://cam1/s\n      path: x.mp4\n",
			want:   []problem{{"linesight.yaml", 12, "cameras[1].source.path", "not used by kind stream"}},
		},
		{
			name:   "freerun rate on a triggered camera",
			config: minimal + "    mode: triggered\n    rate: 5\n",
			want:   []problem{{"linesight.yaml", 9, "cameras[0].rate", "applies only to mode freerun"}},
		},
		{
			name:   "shifts out of order",
			config: minimal + "shifts: [\"06:00\", \"22:00\", \"14:00\"]\n",
			want:   []problem{{"linesight.yaml", 8, "shifts", "14:00 is not after 22:00"}},
		},
		{
			name:   "a shift that is no time",
			config: minimal + "shifts: [\"6am\"]\n",
			want:   []problem{{"linesight.yaml", 8, "shifts", `"6am" is not a time of day HH:MM`}},
		},
		{
			name:   "trigger window on a free-running camera",
			config: minimal + "    trigger_window: 100ms\n",
			want:   []problem{{"linesight.yaml", 8, "cameras[0].trigger_window", "applies only to mode triggered"}},
		},
		{
			name:   "trigger window out of range",
			config: minimal + "    mode: triggered\n    trigger_window: 1m\n",
			want:   []problem{{"linesight.yaml", 9, "cameras[0].trigger_window", "out of range"}},
		},
		{
			name:   "reconnect max below min",
			config: minimal + "mqtt:\n  reconnect: {min: 10s, max: 2s}\n",
			want:   []problem{{"linesight.yaml", 9, "mqtt.reconnect.max", "2s is below min 10s"}},
		},
		{
			name:   "outbox max age out of range",
			config: minimal + "mqtt:\n  outbox_max_age: 500ms\n",
			want:   []problem{{"linesight.yaml", 9, "mqtt.outbox_max_age", "out of range"}},
		},
		{
			name:   "tls cert without key",
			config: minimal + "web:\n  tls:\n    cert: web.pem\n",
			want:   []problem{{"linesight.yaml", 9, "web.tls.key", "missing: cert"}},
		},
		{
			name:   "tls with a plain broker",
			config: minimal + "mqtt:\n  broker: tcp://plc-broker\n  tls: {ca: ca.pem}\n",
			want:   []problem{{"linesight.yaml", 10, "mqtt.tls", "applies only to an ssl:// broker"}},
		},
		{
			name:   "broker scheme",
			config: minimal + "mqtt:\n  broker: mqtt://plc-broker\n",
			want:   []problem{{"linesight.yaml", 9, "mqtt.broker", `scheme "mqtt" is not supported (accepted: tcp://host:1883 or ssl://host:8883`}},
		},
		{
			name:   "web listen address",
			config: minimal + "web:\n  listen: localhost\n",
			want:   []problem{{"linesight.yaml", 9, "web.listen", `"localhost": no port`}},
		},
		{
			name:   "web listen port",
			config: minimal + "web:\n  listen: 127.0.0.1:65536\n",
			want:   []problem{{"linesight.yaml", 9, "web.listen", `"127.0.0.1:65536": port "65536" is not a number from 0 to 65535`}},
		},
		{
			name:   "unknown provider",
			config: strings.Replace(minimal, "model:\n", "model:\n  providers: [{name: tensorrt}, {name: vulkan}]\n", 1),
			want:   []problem{{"linesight.yaml", 4, "model.providers[1].name", `unknown value "vulkan" (accepted: tensorrt, cuda, cpu)`}},
		},
		{
			name:   "batch above the TensorRT profile",
			config: strings.Replace(minimal, "model:\n", "model:\n  providers: [{name: tensorrt, max_batch: 2}]\n", 1) + "pipeline: {batch_size: 8}\n",
			want:   []problem{{"linesight.yaml", 9, "pipeline.batch_size", "8 exceeds model.providers[0].max_batch 2"}},
		},
		{
			name:   "missing defects file",
			config: strings.Replace(minimal, "defects.yaml", "classes.yaml", 1),
			want:   []problem{{"linesight.yaml", 2, "defects", "no such file"}},
		},
		{
			name:   "defects file error in its own file and line",
			config: minimal,
			extra:  map[string]string{"defects.yaml": strings.Replace(classesYAML, "threshold: 0.5", "threshold: 5", 1)},
			want:   []problem{{"defects.yaml", 10, "sets.parts.defects[0].threshold", "5 is out of range"}},
		},
		{
			name:   "camera without a class set",
			config: minimal,
			extra:  map[string]string{"defects.yaml": classesYAML + "cameras:\n  line1/cam9: parts\n"},
			want: []problem{
				{"linesight.yaml", 2, "defects", `maps camera "line1/cam9", which is not among this file's cameras (ids: cam0)`},
				{"linesight.yaml", 6, "cameras[0].id", `no class set for camera "line1/cam0"`},
			},
		},
		{
			name:   "not YAML",
			config: "line: [a\n",
			want:   []problem{{"linesight.yaml", 1, "", "invalid YAML"}},
		},
		{
			name: "several at once, in line order, then the defect file's",
			config: `line: line1
defects: defects.yaml
model:
  bundle: m
  threads: -1
cameras:
  - id: cam0
    source: {kind: synthetic}
    flip: sideways
journal:
  jpeg_quality: 0
  max_age: 0s
`,
			extra: map[string]string{"defects.yaml": strings.Replace(classesYAML, "version: 1", "version: 2", 1)},
			want: []problem{
				{"linesight.yaml", 5, "model.threads", "-1 is out of range (accepted: 0 to 1024)"},
				{"linesight.yaml", 9, "cameras[0].flip", `"sideways" is not accepted (accepted: none, horizontal, vertical, both)`},
				{"linesight.yaml", 11, "journal.jpeg_quality", "0 is out of range (accepted: 1 to 100)"},
				{"linesight.yaml", 12, "journal.max_age", "0s is out of range (accepted: 1h to 87600h)"},
				{"defects.yaml", 1, "version", "unsupported version 2"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, errs := loadErrors(t, tt.config, tt.extra)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(tt.want), errs)
			}
			for i, w := range tt.want {
				e := errs[i]
				if e.File != filepath.Join(dir, w.file) || e.Line != w.line || e.Path != w.path || !strings.Contains(e.Msg, w.msg) {
					t.Errorf("problem %d:\n got %s:%d: %s: %s\nwant %s:%d: %s: ...%s...", i, e.File, e.Line, e.Path, e.Msg, filepath.Join(dir, w.file), w.line, w.path, w.msg)
				}
			}
		})
	}
}
