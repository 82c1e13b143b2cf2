package mqttlink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/config"
)

// connectTimeout bounds one connection attempt, TLS handshake included.
const connectTimeout = 10 * time.Second

// clientOptions builds the paho options for one connection. The link
// manages reconnection itself (paho's auto-reconnect is off) so that each
// connection starts from a known state: a clean session, a fresh
// subscription and the outbox's first unacknowledged entry. A clean session
// also means triggers sent while the appliance is offline are dropped by the
// broker rather than served late for a part that has moved on.
func clientOptions(m config.MQTT, clientID string, tlsConf *tls.Config, will []byte, willTopic string, onLost func(error)) *paho.ClientOptions {
	o := paho.NewClientOptions().
		AddBroker(m.Broker).
		SetClientID(clientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true). // triggers are handled in arrival order
		SetKeepAlive(m.Keepalive).
		SetPingTimeout(pingTimeout(m.Keepalive)).
		SetConnectTimeout(10*time.Second).
		SetWriteTimeout(10*time.Second).
		SetBinaryWill(willTopic, will, 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) { onLost(err) })
	if m.Username != "" {
		o.SetUsername(m.Username).SetPassword(m.Password)
	}
	if tlsConf != nil {
		o.SetTLSConfig(tlsConf)
	}
	return o
}

func pingTimeout(keepalive time.Duration) time.Duration {
	if keepalive <= 0 {
		return 10 * time.Second
	}
	return min(max(keepalive/2, time.Second), 10*time.Second)
}

// tlsConfig reads the CA and client certificate of an ssl:// broker; nil
// for plain TCP.
func tlsConfig(t config.ClientTLS, broker string) (*tls.Config, error) {
	if len(broker) < 6 || broker[:6] != "ssl://" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("mqtt tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt tls ca %s: no PEM certificate in it", t.CA)
		}
		c.RootCAs = pool
	}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("mqtt tls client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// backoff spaces reconnection attempts: min, doubling to max, each spread
// by ±jitter so a plant's appliances do not reconnect in lockstep.
type backoff struct {
	b config.Backoff
	n int
}

func (b *backoff) next() time.Duration {
	lo, hi := b.b.Min, b.b.Max
	if lo <= 0 {
		lo = config.DefaultMQTTReconnectMin
	}
	if hi < lo {
		hi = lo
	}
	d := lo
	for i := 0; i < b.n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	b.n++
	if j := b.b.Jitter; j > 0 {
		d = time.Duration(float64(d) * (1 + j*(2*rand.Float64()-1)))
	}
	return d
}

func (b *backoff) reset() { b.n = 0 }
