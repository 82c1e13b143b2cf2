package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linesight/linesight/internal/yamlconf"
	"github.com/linesight/linesight/pipeline/clip/engine"
)

// validator records every invalid value in doc, which knows its line.
type validator struct {
	doc *yamlconf.Doc
	// appliance requires what running the appliance needs.
	appliance bool
}

// idPattern is what a line or camera id may hold: it becomes an MQTT topic
// level and a file name, where '/', '+', '#' and spaces would break.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const idAccepted = "1 to 64 letters, digits, _ or -"

// errorf records a problem, one per value: the first found is the one to
// fix, and a value that did not decode holds a zero that any further check
// would only complain about.
func (v validator) errorf(path, format string, args ...any) {
	for _, e := range v.doc.Errors() {
		if e.Path == path {
			return
		}
	}
	v.doc.Errorf(path, format, args...)
}

func (v validator) intIn(path string, x, lo, hi int) {
	if x < lo || x > hi {
		v.errorf(path, "%d is out of range (accepted: %d to %d)", x, lo, hi)
	}
}

func (v validator) durationIn(path string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.errorf(path, "%s is out of range (accepted: %s to %s)", formatDuration(d), formatDuration(lo), formatDuration(hi))
	}
}

func (v validator) oneOf(path, x string, accepted []string) {
	if !slices.Contains(accepted, x) {
		v.errorf(path, "unknown value %q (accepted: %s)", x, strings.Join(accepted, ", "))
	}
}

// id checks a line or camera id; what names it in the message.
func (v validator) id(path, x, what string) {
	switch {
	case x == "" && (v.appliance || v.doc.Has(path)):
		v.errorf(path, "missing: the %s (accepted: %s)", what, idAccepted)
	case x != "" && !idPattern.MatchString(x):
		v.errorf(path, "%q is not a valid %s (accepted: %s)", x, what, idAccepted)
	}
}

// formatDuration drops the zero tails of time.Duration's String: 720h, not 720h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (v validator) config(c *Config) {
	v.id("line", c.Line, "line id")
	if c.DataDir == "" {
		v.errorf("data_dir", "empty (default: %s)", DefaultDataDir)
	}
	if c.Defects == "" && v.appliance {
		v.errorf("defects", "missing: the defect-class file, relative to this file")
	}
	v.model(c)
	v.cameras(c)
	v.pipeline(c)
	v.mqtt(&c.MQTT)
	v.web(&c.Web)
	v.journal(&c.Journal)
	v.performance(c)
	v.alarms(&c.Alarms)
	v.shifts(c.Shifts)
	v.parts(c)
	v.modbus(&c.Modbus)
	v.opcua(&c.OPCUA)
	v.escalation(&c.Escalation)
}

var variantPattern = regexp.MustCompile(`^[a-z0-9_]+$`)

func (v validator) model(c *Config) {
	m := &c.Model
	if m.Bundle == "" && v.appliance {
		v.errorf("model.bundle", "missing: the model bundle directory")
	}
	if !variantPattern.MatchString(m.Variant) {
		v.errorf("model.variant", "%q is not a variant name (e.g. fp32, fp16, int8)", m.Variant)
	}
	v.intIn("model.threads", m.Threads, 0, MaxThreads)
	if m.MaxMemoryMB != 0 {
		v.intIn("model.max_memory_mb", m.MaxMemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if len(m.Providers) == 0 {
		v.errorf("model.providers", "empty list: give at least one, e.g. [{name: cpu}] (accepted names: %s)", strings.Join(engine.ProviderNames, ", "))
	}
	seen := map[string]int{}
	for i, p := range m.Providers {
		path := yamlconf.Index("model.providers", i)
		if !slices.Contains(engine.ProviderNames, p.Name) {
			v.oneOf(path+".name", p.Name, engine.ProviderNames)
			continue
		}
		if j, dup := seen[p.Name]; dup {
			v.errorf(path+".name", "provider %s is already listed as model.providers[%d]", p.Name, j)
		}
		seen[p.Name] = i
		if err := p.Validate(); err != nil {
			v.errorf(path, "%v", err)
		}
		if p.MaxBatch > 0 && c.Pipeline.BatchSize > p.MaxBatch {
			v.errorf("pipeline.batch_size", "%d exceeds %s.max_batch %d", c.Pipeline.BatchSize, path, p.MaxBatch)
		}
	}
}

func (v validator) cameras(c *Config) {
	if len(c.Cameras) == 0 && v.appliance {
		v.errorf("cameras", "no cameras; define at least one")
	}
	if len(c.Cameras) > MaxCameras {
		v.errorf("cameras", "%d cameras (accepted: at most %d)", len(c.Cameras), MaxCameras)
	}
	first := map[string]int{}
	for i := range c.Cameras {
		cam := &c.Cameras[i]
		p := yamlconf.Index("cameras", i)
		v.id(p+".id", cam.ID, "camera id")
		if j, dup := first[cam.ID]; dup && cam.ID != "" {
			v.errorf(p+".id", "duplicate camera id %q (first at cameras[%d], line %d)", cam.ID, j, v.doc.Line(yamlconf.Index("cameras", j)+".id"))
		} else {
			first[cam.ID] = i
		}
		v.camera(p, cam)
	}
}

func (v validator) camera(p string, cam *Camera) {
	if err := cam.CameraConfig.Validate(); err != nil {
		v.nested(p, err)
	}
	// capture reads zero as "default"; here defaults are already in, so a
	// zero was written and means nothing useful.
	v.durationIn(p+".stall_timeout", cam.StallTimeout, 100*time.Millisecond, time.Hour)
	v.backoff(p+".reconnect", Backoff(cam.Reconnect))
	v.oneOf(p+".mode", cam.Mode, []string{ModeFreerun, ModeTriggered})
	switch cam.Mode {
	case ModeFreerun:
		for _, k := range []string{".trigger_timeout", ".trigger_window"} {
			if v.doc.Has(p + k) {
				v.errorf(p+k, "applies only to mode triggered")
			}
		}
		if cam.Rate < 0 || cam.Rate > MaxRate {
			v.errorf(p+".rate", "%g is out of range (accepted: 0 to %d per second; 0 inspects every frame)", cam.Rate, MaxRate)
		}
	case ModeTriggered:
		if v.doc.Has(p + ".rate") {
			v.errorf(p+".rate", "applies only to mode freerun")
		}
		v.durationIn(p+".trigger_timeout", cam.TriggerTimeout, time.Millisecond, time.Minute)
		v.durationIn(p+".trigger_window", cam.TriggerWindow, time.Millisecond, 10*time.Second)
	}
	v.regions(p+".regions", cam.Regions)
}

// regions checks a camera's regions on their own; their sets are checked
// against the defect-class file with it.
func (v validator) regions(p string, regions []Region) {
	if len(regions) > MaxRegions {
		v.errorf(p, "%d regions (accepted: at most %d)", len(regions), MaxRegions)
	}
	first := map[string]int{}
	for i, r := range regions {
		rp := yamlconf.Index(p, i)
		if r.Name == "" {
			v.errorf(rp+".name", "missing: every region needs a name (accepted: %s)", idAccepted)
		}
		v.id(rp+".name", r.Name, "region name")
		if j, dup := first[r.Name]; dup && r.Name != "" {
			v.errorf(rp+".name", "duplicate region name %q (first at %s)", r.Name, yamlconf.Index(p, j))
		} else {
			first[r.Name] = i
		}
		if !v.doc.Has(rp + ".roi") {
			v.errorf(rp+".roi", "missing: a region needs its box {x, y, width, height} in the camera's frame")
			continue
		}
		if r.ROI.X < 0 || r.ROI.Y < 0 {
			v.errorf(rp+".roi", "x %d, y %d: a region starts inside the frame (x and y from 0)", r.ROI.X, r.ROI.Y)
		}
		if r.ROI.Width < 1 || r.ROI.Height < 1 {
			v.errorf(rp+".roi", "%dx%d has no pixels (width and height from 1)", r.ROI.Width, r.ROI.Height)
		}
	}
}

func (v validator) backoff(p string, b Backoff) {
	v.durationIn(p+".min", b.Min, time.Millisecond, time.Hour)
	v.durationIn(p+".max", b.Max, time.Millisecond, time.Hour)
	if b.Min > 0 && b.Max > 0 && b.Max < b.Min {
		v.errorf(p+".max", "%s is below min %s", formatDuration(b.Max), formatDuration(b.Min))
	}
	if b.Jitter < 0 || b.Jitter >= 1 {
		v.errorf(p+".jitter", "%g is out of range (accepted: 0 up to, not including, 1)", b.Jitter)
	}
}

// nestedKey is the "key:" or "key.sub:" that starts a message from a
// Validate method, naming the value it is about.
var nestedKey = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)*$`)

// nested reports the problems of a sub-block's Validate under base, at the
// line of the key each message names.
func (v validator) nested(base string, err error) {
	for _, e := range splitErrors(err) {
		msg := e.Error()
		if key, rest, ok := strings.Cut(msg, ": "); ok && nestedKey.MatchString(key) {
			v.errorf(base+"."+key, "%s", rest)
			continue
		}
		v.errorf(base, "%s", msg)
	}
}

func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}

func (v validator) pipeline(c *Config) {
	p := &c.Pipeline
	v.intIn("pipeline.batch_size", p.BatchSize, 1, 64)
	v.durationIn("pipeline.batch_wait", p.BatchWait, 0, time.Second)
	v.intIn("pipeline.queue_size", p.QueueSize, 1, 1024)
	v.intIn("pipeline.sink_queue", p.SinkQueue, 1, 1_000_000)
}

func (v validator) web(w *Web) {
	if w.Listen != "" {
		// Port 0 lets the system pick one; the log says which.
		if err := checkHostPort(w.Listen, true); err != nil {
			v.errorf("web.listen", "%q: %v (accepted: host:port such as 127.0.0.1:8080 or :8080; port 0 takes a free port; empty turns the server off)", w.Listen, err)
		}
	}
	v.certKey("web.tls", w.TLS.Cert, w.TLS.Key)
	v.intIn("web.max_streams", w.MaxStreams, 1, MaxWebStreams)
	v.intIn("web.max_streams_per_camera", w.MaxStreamsPerCamera, 1, MaxWebStreams)
}

func (v validator) certKey(p, cert, key string) {
	switch {
	case cert != "" && key == "":
		v.errorf(p+".key", "missing: cert %s needs its private key", cert)
	case cert == "" && key != "":
		v.errorf(p+".cert", "missing: key %s needs its certificate", key)
	}
}

// checkHostPort accepts host:port with a port from 1 to 65535 (or 0, a
// port the system picks, where anyPort is set: the server logs the address
// it got); an empty host listens on every interface.
func checkHostPort(s string, anyPort bool) error {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return errors.New("no port")
	}
	host, port := s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") || strings.ContainsAny(strings.Trim(host, "[]"), "[] /") {
		return fmt.Errorf("bad host %q", host)
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		return errors.New("an IPv6 host goes in brackets, e.g. [::1]:8080")
	}
	n, err := strconv.Atoi(port)
	lowest := 1
	if anyPort {
		lowest = 0
	}
	if err != nil || n < lowest || n > 65535 {
		return fmt.Errorf("port %q is not a number from %d to 65535", port, lowest)
	}
	return nil
}

func (v validator) journal(j *Journal) {
	v.durationIn("journal.flush_interval", j.FlushInterval, time.Millisecond, 10*time.Second)
	v.intIn("journal.max_mb", j.MaxMB, 16, 1<<24)
	v.durationIn("journal.max_age", j.MaxAge, time.Hour, 10*365*24*time.Hour)
	v.intIn("journal.keep_pass_images", j.KeepPassImages, 0, 1_000_000)
	v.intIn("journal.jpeg_quality", j.JPEGQuality, 1, 100)
	if j.ImageMaxSide != 0 && (j.ImageMaxSide < 64 || j.ImageMaxSide > 16384) {
		v.errorf("journal.image_max_side", "%d is out of range (accepted: 64 to 16384, or 0 to keep the captured size)", j.ImageMaxSide)
	}
}
