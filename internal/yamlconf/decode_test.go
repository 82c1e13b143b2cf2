package yamlconf

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

type source struct {
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

type camera struct {
	Name    string            `yaml:"name"`
	Source  source            `yaml:"source"`
	FPS     float64           `yaml:"fps"`
	Enabled *bool             `yaml:"enabled"`
	Retries uint8             `yaml:"retries"`
	Labels  map[string]string `yaml:"labels"`
}

type common struct {
	Line string `yaml:"line"`
}

type config struct {
	common  `yaml:",inline"`
	Version int                `yaml:"version"`
	Cameras []camera           `yaml:"cameras"`
	Limits  map[string]int16   `yaml:"limits"`
	Ratio   float32            `yaml:"ratio"`
	Broker  *netip.AddrPort    `yaml:"broker"`
	Extra   any                `yaml:"extra"`
	Ignored string             `yaml:"-"`
	Nested  map[string]*source `yaml:"nested"`
}

// wantErr is one expected problem; msg is a substring of Error.Msg.
type wantErr struct {
	line int
	path string
	msg  string
}

func TestDecodeReportsEveryProblemWithLineAndPath(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []wantErr
	}{
		{
			name: "valid file has no errors",
			yaml: "version: 1\ncameras:\n  - name: a\n",
		},
		{
			name: "unknown key lists accepted keys",
			yaml: "version: 1\ncamras: []\n",
			want: []wantErr{{2, "camras", `unknown key "camras" (accepted: line, version, cameras, limits, ratio, broker, extra, nested)`}},
		},
		{
			name: "unknown key deep in a list",
			yaml: "cameras:\n  - name: a\n  - name: b\n    source:\n      url: rtsp://x\n      uri: rtsp://y\n",
			want: []wantErr{{6, "cameras[1].source.uri", `unknown key "uri" (accepted: url, timeout)`}},
		},
		{
			name: "wrong types",
			yaml: "version: one\ncameras:\n  - name: [a]\n    fps: fast\n    enabled: yes\n",
			want: []wantErr{
				{1, "version", `expected an integer, got "one"`},
				{3, "cameras[0].name", "expected a string, got a list"},
				{4, "cameras[0].fps", `expected a number, got "fast"`},
				{5, "cameras[0].enabled", `expected true or false, got "yes"`},
			},
		},
		{
			name: "list where a mapping belongs and the reverse",
			yaml: "cameras:\n  name: a\nlimits: [1]\n",
			want: []wantErr{
				{2, "cameras", "expected a list, got a mapping"},
				{3, "limits", "expected a mapping, got a list"},
			},
		},
		{
			name: "struct given a scalar names its keys",
			yaml: "cameras:\n  - source: rtsp://x\n",
			want: []wantErr{{2, "cameras[0].source", `expected a mapping with keys url, timeout, got "rtsp://x"`}},
		},
		{
			name: "integers out of range",
			yaml: "cameras:\n  - retries: 256\n  - retries: -1\nlimits:\n  a: 40000\n",
			want: []wantErr{
				{2, "cameras[0].retries", "256 is out of range (accepted: 0 to 255)"},
				{3, "cameras[1].retries", `expected a non-negative integer, got "-1"`},
				{5, "limits.a", "40000 is out of range (accepted: -32768 to 32767)"},
			},
		},
		{
			name: "floats: not finite, too large for float32",
			yaml: "ratio: 1e39\ncameras:\n  - fps: .nan\n",
			want: []wantErr{
				{1, "ratio", "1e39 is out of range for a 32-bit float"},
				{3, "cameras[0].fps", `expected a finite number, got ".nan"`},
			},
		},
		{
			name: "duration needs a unit",
			yaml: "cameras:\n  - source:\n      timeout: 1500\n",
			want: []wantErr{{3, "cameras[0].source.timeout", `expected a duration such as 1500ms, 2s or 1m30s, got "1500"`}},
		},
		{
			name: "text unmarshaler error is reported at its value",
			yaml: "version: 1\nbroker: not-an-address\n",
			want: []wantErr{{2, "broker", `cannot parse "not-an-address"`}},
		},
		{
			name: "duplicate key",
			yaml: "version: 1\nline: a\nversion: 2\n",
			want: []wantErr{{3, "version", `duplicate key "version" (first on line 1)`}},
		},
		{
			name: "map keys that are not words are quoted in the path",
			yaml: "nested:\n  line1/cam0:\n    url: x\n    bogus: 1\n",
			want: []wantErr{{4, `nested["line1/cam0"].bogus`, `unknown key "bogus"`}},
		},
		{
			name: "syntax error has a line",
			yaml: "version: 1\nline: a: b\n",
			want: []wantErr{{2, "", "invalid YAML: mapping values are not allowed in this context"}},
		},
		{
			name: "root is not a mapping",
			yaml: "- 1\n",
			want: []wantErr{{1, "", "expected a mapping with keys line, version"}},
		},
		{
			name: "merge key of a scalar",
			yaml: "cameras:\n  - <<: 3\n",
			want: []wantErr{{2, "cameras[0]", "a << merge takes a mapping or a list of mappings"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			doc := Decode("cams.yaml", []byte(tt.yaml), &c)
			errs := doc.Errors()
			if wantMalformed := strings.HasPrefix(tt.name, "syntax"); doc.Malformed() != wantMalformed {
				t.Errorf("Malformed() = %v, want %v", doc.Malformed(), wantMalformed)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tt.want), errs)
			}
			for i, w := range tt.want {
				e := errs[i]
				if e.File != "cams.yaml" || e.Line != w.line || e.Path != w.path || !strings.Contains(e.Msg, w.msg) {
					t.Errorf("error %d = %+v, want line %d path %q msg containing %q", i, e, w.line, w.path, w.msg)
				}
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	yes := true
	addr := netip.MustParseAddrPort("10.0.0.5:1883")
	src := `
line: L1
version: 0x10
defaults: &defaults
  fps: 12.5
  retries: 3
cameras:
  - <<: *defaults
    name: a
    fps: 30
    enabled: true
    source: {url: "rtsp://cam/a", timeout: 1m30s}
    labels: {zone: "2"}
  - {<<: *defaults, name: b}
limits: {x: -32768}
ratio: 2
broker: 10.0.0.5:1883
extra: {k: [1, two]}
nested:
  n1: ~
  n2: {url: u}
`
	// "defaults" is not a key of config: it must be reported, while the
	// anchor it defines still serves the merges below it.
	want := config{
		common:  common{Line: "L1"},
		Version: 16,
		Cameras: []camera{
			{Name: "a", FPS: 30, Retries: 3, Enabled: &yes, Source: source{URL: "rtsp://cam/a", Timeout: 90 * time.Second}, Labels: map[string]string{"zone": "2"}},
			{Name: "b", FPS: 12.5, Retries: 3},
		},
		Limits: map[string]int16{"x": -32768},
		Ratio:  2,
		Broker: &addr,
		Extra:  map[string]any{"k": []any{1, "two"}},
		Nested: map[string]*source{"n1": nil, "n2": {URL: "u"}},
	}
	var got config
	doc := Decode("c.yaml", []byte(src), &got)
	errs := doc.Errors()
	if len(errs) != 1 || errs[0].Path != "defaults" || errs[0].Line != 4 {
		t.Fatalf("errors = %v, want only the unknown key defaults on line 4", errs)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestDocLinesAndErrorf(t *testing.T) {
	src := "version: 1\ncameras:\n  - name: a\n  - name: b\n    source:\n      url: x\n"
	var c config
	doc := Decode("c.yaml", []byte(src), &c)
	tests := []struct {
		path string
		line int
		has  bool
	}{
		{"version", 1, true},
		{"cameras", 2, true},
		{"cameras[0]", 3, true},
		{"cameras[1].name", 4, true},
		{"cameras[1].source", 5, true},
		{"cameras[1].source.url", 6, true},
		{"cameras[1].source.timeout", 5, false}, // absent: its parent's line
		{"cameras[7].name", 2, false},
		{"limits", 1, false}, // absent at the top: the document's first line
	}
	for _, tt := range tests {
		if got := doc.Line(tt.path); got != tt.line {
			t.Errorf("Line(%q) = %d, want %d", tt.path, got, tt.line)
		}
		if got := doc.Has(tt.path); got != tt.has {
			t.Errorf("Has(%q) = %v, want %v", tt.path, got, tt.has)
		}
	}

	if doc.Err() != nil {
		t.Fatalf("unexpected errors: %v", doc.Err())
	}
	doc.Errorf("cameras[1].source.url", "%q is not an RTSP URL (accepted: rtsp://host/path)", "x")
	doc.Errorf("version", "version %d is not supported (accepted: 2)", 1)
	err := doc.Err()
	want := "c.yaml:1: version: version 1 is not supported (accepted: 2)\n" +
		`c.yaml:6: cameras[1].source.url: "x" is not an RTSP URL (accepted: rtsp://host/path)`
	if err == nil || err.Error() != want {
		t.Errorf("Err() =\n%v\nwant\n%s", err, want)
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Errorf("Err() should be an Errors of 2, got %T", err)
	}
}

func TestEmptyFileAndNilErrors(t *testing.T) {
	var c config
	if err := Decode("e.yaml", nil, &c).Err(); err != nil {
		t.Errorf("empty file: %v", err)
	}
	if err := Errors(nil).Err(); err != nil {
		t.Errorf("empty Errors.Err() = %v, want nil", err)
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		path, parent string
	}{
		{Key("", "cameras"), ""},
		{Index(Key("", "cameras"), 1), "cameras"},
		{Key(Index("cameras", 1), "source"), "cameras[1]"},
		{Key("sets", "line1/cam0"), "sets"},
		{Key(Key("sets", "a.b[0]"), "x"), `sets["a.b[0]"]`},
		{Key("sets", `we"ird[`), "sets"},
	}
	wantPaths := []string{"cameras", "cameras[1]", "cameras[1].source", `sets["line1/cam0"]`, `sets["a.b[0]"].x`, `sets["we\"ird["]`}
	for i, tt := range tests {
		if tt.path != wantPaths[i] {
			t.Errorf("path %d = %s, want %s", i, tt.path, wantPaths[i])
		}
		if got := parentPath(tt.path); got != tt.parent {
			t.Errorf("parentPath(%s) = %q, want %q", tt.path, got, tt.parent)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{"f.yaml", 3, "a.b", "bad"}, "f.yaml:3: a.b: bad"},
		{Error{"f.yaml", 0, "a", "bad"}, "f.yaml: a: bad"},
		{Error{"f.yaml", 2, "", "bad"}, "f.yaml:2: bad"},
		{Error{"", 0, "", "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}
