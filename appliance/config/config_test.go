package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/internal/yamlconf"
	"github.com/linesight/linesight/pipeline/capture"
	"github.com/linesight/linesight/pipeline/clip/engine"
)

// classesYAML is a defect-class file with one set, which serves every camera.
const classesYAML = `version: 1
sets:
  parts:
    good:
      prompts: ["a photo of a good part"]
      threshold: 0.6
    defects:
      - name: scratch
        prompts: ["a photo of a scratched part"]
        threshold: 0.5
`

// minimal is the least a runnable appliance file holds.
const minimal = `line: line1
defects: defects.yaml
model:
  bundle: models/tiny
cameras:
  - id: cam0
    source: {kind: synthetic}
`

// writeDir writes files into a new directory and returns it.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadErrors loads an appliance file written next to classesYAML and
// returns its problems.
func loadErrors(t *testing.T, config string, extra map[string]string) (string, yamlconf.Errors) {
	t.Helper()
	files := map[string]string{"linesight.yaml": config, "defects.yaml": classesYAML}
	for k, v := range extra {
		files[k] = v
	}
	dir := writeDir(t, files)
	_, err := LoadAppliance(filepath.Join(dir, "linesight.yaml"))
	if err == nil {
		return dir, nil
	}
	var es yamlconf.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is not a yamlconf.Errors: %v", err)
	}
	return dir, es
}

func TestMinimalFileGetsEveryDefault(t *testing.T) {
	dir := writeDir(t, map[string]string{"linesight.yaml": minimal, "defects.yaml": classesYAML})
	c, err := LoadAppliance(filepath.Join(dir, "linesight.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Line:    "line1",
		DataDir: DefaultDataDir,
		Defects: filepath.Join(dir, "defects.yaml"),
		Model: Model{
			Bundle:    filepath.Join(dir, "models/tiny"),
			Variant:   "fp32",
			Providers: []engine.Provider{{Name: "cpu"}},
		},
		Cameras: []Camera{{
			ID: "cam0",
			CameraConfig: capture.CameraConfig{
				Source:       capture.SourceConfig{Kind: capture.KindSynthetic},
				Flip:         capture.FlipNone,
				StallTimeout: 5 * time.Second,
				Reconnect:    capture.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, Jitter: 0.2},
			},
			Mode:           "freerun",
			TriggerTimeout: 2 * time.Second, TriggerWindow: 200 * time.Millisecond,
		}},
		Pipeline: Pipeline{BatchSize: 4, BatchWait: 20 * time.Millisecond, QueueSize: 8, SinkQueue: 1024},
		MQTT: MQTT{
			ClientID:      "linesight-line1",
			Keepalive:     30 * time.Second,
			Reconnect:     Backoff{Min: time.Second, Max: time.Minute, Jitter: 0.2},
			OutboxLimit:   100000,
			OutboxFull:    "drop_oldest",
			OutboxMaxAge:  time.Minute,
			StatsInterval: 10 * time.Second,
		},
		Web: Web{Listen: "127.0.0.1:8080", MaxStreams: 32, MaxStreamsPerCamera: 8},
		Journal: Journal{
			FlushInterval: 200 * time.Millisecond, MaxMB: 10240, MaxAge: 720 * time.Hour,
			KeepPassImages: 100, JPEGQuality: 85, ImageMaxSide: 1024,
		},
		Performance: Performance{Quantile: 0.95, Window: 5 * time.Second, Headroom: 0.6, Settle: 3},
		Escalation:  Escalation{Timeout: time.Second, JPEGQuality: 90, Serve: EscalationServe{Listen: "127.0.0.1:8470"}},
		Alarms: Alarms{YieldBelow: 80, YieldWindow: 50, ConsecutiveFails: 5, ClassShareFactor: 2, ClassShareWindow: 50,
			ClassShareBaseline: 1000, NoPartsAfter: 10 * time.Minute, FPSBelow: 50},
		Shifts: []string{"06:00", "14:00", "22:00"},
		Modbus: Modbus{MaxClients: DefaultModbusMaxClients, IdleTimeout: DefaultModbusIdleTimeout},
		OPCUA:  OPCUA{MaxConnections: DefaultOPCUAMaxConnections, HandshakeTimeout: DefaultOPCUAHandshakeTimeout},
		File:   filepath.Join(dir, "linesight.yaml"),
	}
	if c.Classes() == nil || len(c.Classes().Sets) != 1 {
		t.Errorf("defect classes not loaded: %+v", c.Classes())
	}
	c.classes = nil
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *c, want)
	}
}

func TestExplicitValuesWinOverDefaults(t *testing.T) {
	dir := writeDir(t, map[string]string{"defects.yaml": classesYAML, "linesight.yaml": minimal + `
data_dir: var
journal:
  keep_pass_images: 0   # an explicit zero is a value, not "unset"
  image_max_side: 0
pipeline:
  batch_wait: 0s
mqtt:
  broker: ssl://broker.plant
  client_id: press-7
web:
  listen: ""
`})
	c, err := LoadAppliance(filepath.Join(dir, "linesight.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Port 0: the system chooses a free port (tests, a second dashboard).
	free := writeDir(t, map[string]string{"defects.yaml": classesYAML, "linesight.yaml": minimal + "web:\n  listen: 127.0.0.1:0\n"})
	cf, err := LoadAppliance(filepath.Join(free, "linesight.yaml"))
	if err != nil {
		t.Fatalf("web.listen with port 0: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"data_dir", c.DataDir, filepath.Join(dir, "var")},
		{"keep_pass_images", c.Journal.KeepPassImages, 0},
		{"image_max_side", c.Journal.ImageMaxSide, 0},
		{"batch_wait", c.Pipeline.BatchWait, time.Duration(0)},
		{"broker gets the ssl port", c.MQTT.Broker, "ssl://broker.plant:8883"},
		{"client_id", c.MQTT.ClientID, "press-7"},
		{"web off", c.Web.Listen, ""},
		{"web on a port the system chooses", cf.Web.Listen, "127.0.0.1:0"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestRelativePathsResolveAgainstTheFile(t *testing.T) {
	dir := writeDir(t, map[string]string{"sub/defects.yaml": classesYAML, "etc/linesight.yaml": `line: l
data_dir: ../data
defects: ../sub/defects.yaml
model:
  bundle: /opt/models/b
  ort_library: libonnxruntime.so.1
  providers: [{name: tensorrt, engine_cache_dir: trt}]
cameras:
  - id: a
    source: {kind: folder, path: images}
  - id: b
    source: {kind: device, device: /dev/video0}
mqtt:
  broker: ssl://b:8883
  tls: {ca: ca.pem, cert: /pki/c.pem, key: k.pem}
web:
  tls: {cert: w.pem, key: w.key}
`})
	etc := filepath.Join(dir, "etc")
	c, err := Load(filepath.Join(etc, "linesight.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"data_dir", c.DataDir, filepath.Join(dir, "data")},
		{"defects", c.Defects, filepath.Join(dir, "sub/defects.yaml")},
		{"absolute bundle", c.Model.Bundle, "/opt/models/b"},
		{"bare library name", c.Model.ORTLibrary, "libonnxruntime.so.1"},
		{"engine cache", c.Model.Providers[0].EngineCacheDir, filepath.Join(etc, "trt")},
		{"folder source", c.Cameras[0].Source.Path, filepath.Join(etc, "images")},
		{"device stays", c.Cameras[1].Source.Device, "/dev/video0"},
		{"mqtt ca", c.MQTT.TLS.CA, filepath.Join(etc, "ca.pem")},
		{"mqtt cert", c.MQTT.TLS.Cert, "/pki/c.pem"},
		{"mqtt key", c.MQTT.TLS.Key, filepath.Join(etc, "k.pem")},
		{"web cert", c.Web.TLS.Cert, filepath.Join(etc, "w.pem")},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %s, want %s", ch.name, ch.got, ch.want)
		}
	}
}

// A file with only a model section serves the model commands; running the
// appliance needs more.
func TestModelOnlyFileLoadsButCannotRunTheAppliance(t *testing.T) {
	data := []byte("model:\n  bundle: m\n  threads: 2\n")
	c, err := Parse("only-model.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model.Bundle != "m" || c.Model.Threads != 2 || c.Classes() != nil {
		t.Errorf("model section: %+v", c.Model)
	}
	_, err = ParseAppliance("only-model.yaml", data)
	want := []string{
		"only-model.yaml:1: line: missing: the line id",
		"only-model.yaml:1: defects: missing",
		"only-model.yaml:1: cameras: no cameras",
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

func TestHash(t *testing.T) {
	parse := func(s string) *Config {
		t.Helper()
		c, err := Parse("x/linesight.yaml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	base := parse("line: a\nmodel: {bundle: m}\nmqtt: {username: u, password: one}\n")
	tests := []struct {
		name string
		yaml string
		same bool
	}{
		{"reordered and commented", "# comment\nmqtt: {password: one, username: u}\nmodel:\n  bundle: m\nline: a\n", true},
		{"defaults written out", "line: a\nmodel: {bundle: m, variant: fp32}\nmqtt: {username: u, password: one}\npipeline: {batch_size: 4}\n", true},
		{"password left out", "line: a\nmodel: {bundle: m}\nmqtt: {username: u, password: two}\n", true},
		{"other value", "line: a\nmodel: {bundle: m}\nmqtt: {username: u, password: one}\npipeline: {batch_size: 5}\n", false},
		{"other line", "line: b\nmodel: {bundle: m}\nmqtt: {username: u, password: one}\n", false},
	}
	if !strings.HasPrefix(base.Hash(), "sha256:") || len(base.Hash()) != 7+64 {
		t.Fatalf("hash %q", base.Hash())
	}
	for _, tt := range tests {
		if got := parse(tt.yaml).Hash() == base.Hash(); got != tt.same {
			t.Errorf("%s: same hash = %v, want %v", tt.name, got, tt.same)
		}
	}
	stream := func(pw string) string {
		return parse("cameras: [{id: c, source: {kind: stream, url: 'rtsp://u:" + pw + "@cam/1'}}]\n").Hash()
	}
	if stream("secret1") != stream("secret2") {
		t.Error("a stream URL's password changes the hash")
	}
}
