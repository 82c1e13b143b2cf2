package capture

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/linesight/linesight/pipeline/frame"
)

func TestSourceConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		cfg  SourceConfig
		want []string
	}{
		{"no kind", SourceConfig{}, []string{"kind: missing (accepted: device, stream, gstreamer, file, folder, synthetic)"}},
		{"unknown kind", SourceConfig{Kind: "webcam"}, []string{`kind: unknown kind "webcam"`}},
		{"device without device", SourceConfig{Kind: KindDevice}, []string{"device: required"}},
		{"device nonsense", SourceConfig{Kind: KindDevice, Device: "video0"}, []string{`device: "video0" is neither a path`}},
		{"fourcc length", SourceConfig{Kind: KindDevice, Device: "0", FourCC: "MJPEG"}, []string{"fourcc:"}},
		{"half a size", SourceConfig{Kind: KindDevice, Device: "0", Width: 640}, []string{"width, height: set both"}},
		{"stream without url", SourceConfig{Kind: KindStream}, []string{"url: required"}},
		{"stream scheme", SourceConfig{Kind: KindStream, URL: "ftp://cam/x"}, []string{`url: scheme "ftp" is not supported`}},
		{"stream timeout", SourceConfig{Kind: KindStream, URL: "rtsp://cam/x", ReadTimeout: -time.Second}, []string{"read_timeout: -1s is negative"}},
		{"gstreamer without appsink", SourceConfig{Kind: KindGStreamer, Pipeline: "videotestsrc ! autovideosink"}, []string{"pipeline: must end in an appsink"}},
		{"file without path", SourceConfig{Kind: KindFile}, []string{"path: required for kind file"}},
		{"field of another kind", SourceConfig{Kind: KindFile, Path: "a.avi", URL: "rtsp://x/y", Seed: 3}, []string{"url: not used by kind file", "seed: not used by kind file"}},
		{"negative fps", SourceConfig{Kind: KindFolder, Path: "imgs", FPS: -2}, []string{"fps: -2 is negative"}},
		{"synthetic rate", SourceConfig{Kind: KindSynthetic, DefectRate: 2}, []string{"defect_rate: 2 is outside 0..1"}},
		{"synthetic part", SourceConfig{Kind: KindSynthetic, PartTypes: []string{"gear"}}, []string{`part_types[0]: unknown part type "gear"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, nerr := New(tt.cfg, "cam0", frame.NewPool(1)); nerr == nil || !strings.Contains(nerr.Error(), `camera "cam0"`) {
				t.Errorf("New: %v, want the camera named", nerr)
			}
		})
	}
}

func TestValidSourceConfigs(t *testing.T) {
	for _, cfg := range []SourceConfig{
		{Kind: KindDevice, Device: "/dev/video0", Width: 1280, Height: 720, FPS: 30, FourCC: "MJPG"},
		{Kind: KindDevice, Device: "2"},
		{Kind: KindStream, URL: "rtsp://user:secret@10.0.0.5:554/stream1", OpenTimeout: time.Second},
		{Kind: KindGStreamer, Pipeline: "aravissrc ! videoconvert ! video/x-raw,format=BGR ! appsink"},
		{Kind: KindFile, Path: "line.mp4", Loop: true, FPS: 25},
		{Kind: KindFolder, Path: "images"},
		{Kind: KindSynthetic},
		{Kind: KindSynthetic, Width: 320, Height: 240, Seed: 9, DefectRate: 0.1, PartTypes: []string{"washer"}, Defects: []string{"dent"}},
	} {
		if err := cfg.Validate(); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestCameraConfigErrorsNameTheField(t *testing.T) {
	cfg := CameraConfig{
		Source:       SourceConfig{Kind: KindStream},
		ROI:          &Rect{X: -1, Width: 0, Height: 10},
		Rotate:       45,
		Flip:         "diagonal",
		StallTimeout: -time.Second,
		Reconnect:    Backoff{Min: 10 * time.Second, Max: time.Second, Jitter: 1.5},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{
		"source.url: required",
		"roi: x, y (-1, 0) must not be negative",
		"roi: width, height (0x10) must be positive",
		"rotate: 45 is not accepted (accepted: 0, 90, 180, 270",
		`flip: "diagonal" is not accepted`,
		"stall_timeout: -1s is negative",
		"reconnect.max: 1s is below reconnect.min 10s",
		"reconnect.jitter: 1.5",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestCameraConfigFromYAML(t *testing.T) {
	const doc = `
source:
  kind: stream
  url: rtsp://10.0.0.5/stream1
  open_timeout: 3s
roi: {x: 10, y: 20, width: 300, height: 200}
rotate: 270
flip: horizontal
stall_timeout: 2s
reconnect: {min: 250ms, max: 10s, jitter: 0.1}
`
	var cfg CameraConfig
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := CameraConfig{
		Source:       SourceConfig{Kind: KindStream, URL: "rtsp://10.0.0.5/stream1", OpenTimeout: 3 * time.Second},
		ROI:          &Rect{X: 10, Y: 20, Width: 300, Height: 200},
		Rotate:       270,
		Flip:         FlipHorizontal,
		StallTimeout: 2 * time.Second,
		Reconnect:    Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second, Jitter: 0.1},
	}
	if *cfg.ROI != *want.ROI || cfg.Source.URL != want.Source.URL || cfg.Source.OpenTimeout != want.Source.OpenTimeout ||
		cfg.Rotate != want.Rotate || cfg.Flip != want.Flip || cfg.StallTimeout != want.StallTimeout || cfg.Reconnect != want.Reconnect {
		t.Errorf("decoded %+v, want %+v", cfg, want)
	}
	if d := cfg.Source.withDefaults(); d.ReadTimeout != DefaultReadTimeout || d.OpenTimeout != 3*time.Second {
		t.Errorf("stream defaults: open %s read %s", d.OpenTimeout, d.ReadTimeout)
	}
}

func TestStreamNameHidesThePassword(t *testing.T) {
	src, err := New(SourceConfig{Kind: KindStream, URL: "rtsp://admin:hunter2@10.0.0.5/s"}, "cam0", frame.NewPool(1))
	if err != nil {
		t.Fatal(err)
	}
	if s := src.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "10.0.0.5") {
		t.Errorf("String() = %q", s)
	}
}
