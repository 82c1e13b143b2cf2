package config

import (
	"net/url"
	"time"
)

// Performance is the adaptive tuning of batching and model variant
// (docs/edge.md): a monitor watches latency against Deadline, throughput
// and memory, and changes the batch size, the batch wait and, when
// SwapVariants allows, the model variant between frames.
type Performance struct {
	// Adaptive turns the monitor on; off, the pipeline settings stay as written.
	Adaptive bool `yaml:"adaptive" json:"adaptive"`
	// Deadline is the capture-to-verdict time a part must meet; 0: none
	// (the monitor then tunes for throughput and memory only).
	Deadline time.Duration `yaml:"deadline" json:"deadline"`
	// Quantile of the window's latencies compared with Deadline.
	Quantile float64 `yaml:"quantile" json:"quantile"`
	// Window is how often the monitor decides, over what it saw since.
	Window time.Duration `yaml:"window" json:"window"`
	// Headroom: latency below Headroom x Deadline for Settle windows in a
	// row lets the monitor step back towards the configured settings.
	Headroom float64 `yaml:"headroom" json:"headroom"`
	Settle   int     `yaml:"settle" json:"settle"`
	// SwapVariants lets the monitor load a lighter variant of the bundle
	// when shorter waits and smaller batches are not enough.
	SwapVariants bool `yaml:"swap_variants" json:"swap_variants"`
}

// Escalation sends UNCERTAIN frames whose action is escalate to another
// appliance running `linesight serve`, and configures that server.
type Escalation struct {
	// Endpoint is http(s)://host:port of the server; empty: no escalation.
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// Token is the shared secret both sides send and require; left out of
	// Hash, which is published.
	Token string `yaml:"token" json:"-"`
	// Timeout bounds one escalation; a later answer is ignored and the
	// local uncertain policy (reject) applies.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// JPEGQuality of the frame sent.
	JPEGQuality int       `yaml:"jpeg_quality" json:"jpeg_quality"`
	TLS         ClientTLS `yaml:"tls" json:"tls"`
	// Serve configures `linesight serve`.
	Serve EscalationServe `yaml:"serve" json:"serve"`
}

// EscalationServe is the inference server other appliances escalate to.
type EscalationServe struct {
	// Listen is host:port.
	Listen string   `yaml:"listen" json:"listen"`
	TLS    ServeTLS `yaml:"tls" json:"tls"`
}

// ServeTLS is the server's certificate; ClientCA, when set, requires and
// verifies client certificates (mutual TLS).
type ServeTLS struct {
	Cert     string `yaml:"cert" json:"cert"`
	Key      string `yaml:"key" json:"key"`
	ClientCA string `yaml:"client_ca" json:"client_ca"`
}

// Tuning and escalation defaults and limits.
const (
	MinMemoryMB = 64
	MaxMemoryMB = 1 << 22

	DefaultQuantile = 0.95
	DefaultWindow   = 5 * time.Second
	DefaultHeadroom = 0.6
	DefaultSettle   = 3

	DefaultEscalationTimeout = time.Second
	DefaultEscalationJPEG    = 90
	DefaultServeListen       = "127.0.0.1:8470"
	MinTokenLength           = 16
)

func applyTuningDefaults(set func(string, func()), c *Config) {
	p := &c.Performance
	set("performance.quantile", func() { p.Quantile = DefaultQuantile })
	set("performance.window", func() { p.Window = DefaultWindow })
	set("performance.headroom", func() { p.Headroom = DefaultHeadroom })
	set("performance.settle", func() { p.Settle = DefaultSettle })
	e := &c.Escalation
	set("escalation.timeout", func() { e.Timeout = DefaultEscalationTimeout })
	set("escalation.jpeg_quality", func() { e.JPEGQuality = DefaultEscalationJPEG })
	set("escalation.serve.listen", func() { e.Serve.Listen = DefaultServeListen })
}

func (v validator) performance(c *Config) {
	p := &c.Performance
	if p.Deadline != 0 {
		v.durationIn("performance.deadline", p.Deadline, time.Millisecond, time.Minute)
	}
	if p.Quantile < 0.5 || p.Quantile > 0.999 {
		v.errorf("performance.quantile", "%g is out of range (accepted: 0.5 to 0.999)", p.Quantile)
	}
	v.durationIn("performance.window", p.Window, 100*time.Millisecond, time.Hour)
	if p.Headroom < 0.1 || p.Headroom > 0.95 {
		v.errorf("performance.headroom", "%g is out of range (accepted: 0.1 to 0.95)", p.Headroom)
	}
	v.intIn("performance.settle", p.Settle, 1, 100)
	if p.SwapVariants && !p.Adaptive {
		v.errorf("performance.swap_variants", "needs performance.adaptive: true")
	}
}

func (v validator) escalation(e *Escalation) {
	if e.Endpoint != "" {
		const accepted = "accepted: http://host:port or https://host:port; empty turns escalation off"
		u, err := url.Parse(e.Endpoint)
		switch {
		case err != nil:
			v.errorf("escalation.endpoint", "not a URL (%s)", accepted)
		case u.Scheme != "http" && u.Scheme != "https":
			v.errorf("escalation.endpoint", "scheme %q is not supported (%s)", u.Scheme, accepted)
		case u.Hostname() == "":
			v.errorf("escalation.endpoint", "%q has no host (%s)", e.Endpoint, accepted)
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			v.errorf("escalation.endpoint", "give scheme, host, port and an optional path only; the token goes in escalation.token")
		}
		if err == nil && u.Scheme == "http" && (e.TLS.CA != "" || e.TLS.Cert != "" || e.TLS.Key != "" || e.TLS.InsecureSkipVerify) {
			v.errorf("escalation.tls", "applies only to an https:// endpoint")
		}
		if len(e.Token) < MinTokenLength {
			v.errorf("escalation.token", "missing or shorter than %d characters: the escalation server requires the shared token", MinTokenLength)
		}
	}
	if e.Token != "" && len(e.Token) < MinTokenLength {
		v.errorf("escalation.token", "shorter than %d characters", MinTokenLength)
	}
	v.certKey("escalation.tls", e.TLS.Cert, e.TLS.Key)
	v.durationIn("escalation.timeout", e.Timeout, 10*time.Millisecond, time.Minute)
	v.intIn("escalation.jpeg_quality", e.JPEGQuality, 1, 100)
	s := &e.Serve
	if err := checkHostPort(s.Listen, 1); err != nil {
		v.errorf("escalation.serve.listen", "%q: %v (accepted: host:port such as 127.0.0.1:8470 or :8470)", s.Listen, err)
	}
	v.certKey("escalation.serve.tls", s.TLS.Cert, s.TLS.Key)
	if s.TLS.ClientCA != "" && s.TLS.Cert == "" {
		v.errorf("escalation.serve.tls.client_ca", "mutual TLS needs the server's own cert and key")
	}
}
