package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Broker URL schemes and their default ports.
var brokerPorts = map[string]string{"tcp": "1883", "ssl": "8883"}

// mqtt validates the PLC link and completes the broker URL with the
// scheme's default port, so the effective configuration names it.
func (v validator) mqtt(m *MQTT) {
	if m.Broker != "" {
		v.broker(m)
	}
	if m.Password != "" && m.Username == "" {
		v.errorf("mqtt.password", "set without mqtt.username")
	}
	t := m.TLS
	if u, err := url.Parse(m.Broker); err == nil && u.Scheme == "tcp" && (t.CA != "" || t.Cert != "" || t.Key != "" || t.InsecureSkipVerify) {
		v.errorf("mqtt.tls", "applies only to an ssl:// broker, and mqtt.broker is %s", u.Redacted())
	}
	v.certKey("mqtt.tls", t.Cert, t.Key)
	v.durationIn("mqtt.keepalive", m.Keepalive, time.Second, 65535*time.Second)
	v.backoff("mqtt.reconnect", m.Reconnect)
	v.intIn("mqtt.outbox_limit", m.OutboxLimit, 1, 100_000_000)
	v.oneOf("mqtt.outbox_full", m.OutboxFull, []string{OutboxDropOldest, OutboxRefuse})
	v.durationIn("mqtt.outbox_max_age", m.OutboxMaxAge, time.Second, 24*time.Hour)
	v.durationIn("mqtt.stats_interval", m.StatsInterval, time.Second, time.Hour)
}

func (v validator) broker(m *MQTT) {
	const accepted = "accepted: tcp://host:1883 or ssl://host:8883; empty disables MQTT"
	u, err := url.Parse(m.Broker)
	if err != nil {
		v.errorf("mqtt.broker", "not a URL (%s)", accepted)
		return
	}
	port, known := brokerPorts[u.Scheme]
	switch {
	case !known:
		v.errorf("mqtt.broker", "scheme %q is not supported (%s)", u.Scheme, accepted)
	case u.User != nil:
		v.errorf("mqtt.broker", "credentials go in mqtt.username and mqtt.password, not the URL")
	case u.Hostname() == "":
		v.errorf("mqtt.broker", "%q has no host (%s)", m.Broker, accepted)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		v.errorf("mqtt.broker", "%q has a path or query; give only scheme, host and port", m.Broker)
	default:
		if u.Port() != "" {
			if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
				v.errorf("mqtt.broker", "port %q is not a number from 1 to 65535", u.Port())
				return
			}
			port = u.Port()
		}
		m.Broker = u.Scheme + "://" + u.Hostname() + ":" + port
		if strings.Contains(u.Hostname(), ":") {
			m.Broker = u.Scheme + "://[" + u.Hostname() + "]:" + port
		}
	}
}
