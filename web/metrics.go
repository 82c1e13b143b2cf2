package web

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/metrics"
)

// Prom writes the Prometheus text exposition format (0.0.4). Each family's
// HELP and TYPE are written once, before its first sample.
type Prom struct {
	buf  bytes.Buffer
	seen map[string]bool
}

// Labels are label pairs, written in key order.
type Labels map[string]string

func (p *Prom) header(name, typ, help string) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.seen[name] {
		return
	}
	p.seen[name] = true
	fmt.Fprintf(&p.buf, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

func (p *Prom) sample(name string, l Labels, extra string, v float64) {
	p.buf.WriteString(name)
	keys := make([]string, 0, len(l)+1)
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 || extra != "" {
		p.buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				p.buf.WriteByte(',')
			}
			fmt.Fprintf(&p.buf, `%s="%s"`, k, escapeLabel(l[k]))
		}
		if extra != "" {
			if len(keys) > 0 {
				p.buf.WriteByte(',')
			}
			p.buf.WriteString(extra)
		}
		p.buf.WriteByte('}')
	}
	p.buf.WriteByte(' ')
	p.buf.WriteString(formatFloat(v))
	p.buf.WriteByte('\n')
}

// Counter writes one counter sample; name should end in _total.
func (p *Prom) Counter(name, help string, l Labels, v uint64) {
	p.header(name, "counter", help)
	p.sample(name, l, "", float64(v))
}

// Gauge writes one gauge sample.
func (p *Prom) Gauge(name, help string, l Labels, v float64) {
	p.header(name, "gauge", help)
	p.sample(name, l, "", v)
}

// Histogram writes a latency histogram in seconds.
func (p *Prom) Histogram(name, help string, l Labels, h metrics.HistogramSnapshot) {
	p.header(name, "histogram", help)
	for _, b := range h.Buckets {
		le := "+Inf"
		if b.Le != time.Duration(math.MaxInt64) {
			le = formatFloat(b.Le.Seconds())
		}
		p.sample(name+"_bucket", l, `le="`+le+`"`, float64(b.Count))
	}
	p.sample(name+"_sum", l, "", h.Sum.Seconds())
	p.sample(name+"_count", l, "", float64(h.Count))
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func (s *Server) metrics(c echo.Context) error {
	var p Prom
	ready := 0.0
	if s.opts.App.State() == "ready" {
		ready = 1
	}
	p.Gauge("linesight_ready", "1 when the appliance is inspecting.", nil, ready)
	s.opts.App.WriteMetrics(&p)
	s.live.counts(func(camera string, o defects.Outcome, n uint64) {
		p.Counter("linesight_verdicts_total", "Verdicts seen by the dashboard since start.", Labels{"camera": camera, "outcome": string(o)}, n)
	})
	clients, dropped := s.live.bus.stats()
	p.Gauge("linesight_web_sessions", "Logged-in dashboard sessions.", nil, float64(s.sessions.count()))
	p.Gauge("linesight_web_stream_clients", "Clients of the verdict stream.", nil, float64(clients))
	p.Counter("linesight_web_stream_dropped_total", "Verdict-stream clients dropped for reading too slowly.", nil, dropped)
	open, refused := s.streams.stats()
	p.Gauge("linesight_web_live_streams", "Live streams open (MJPEG and verdict events).", nil, float64(open))
	p.Counter("linesight_web_live_streams_refused_total", "Live streams refused for web.max_streams or web.max_streams_per_camera.", nil, refused)
	p.Gauge("linesight_web_alarms", "Active alarms.", nil, float64(len(s.alarms.List())))
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", p.buf.Bytes())
}

// String is the exposition written so far.
func (p *Prom) String() string { return p.buf.String() }
