package mqttlink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/defects"
)

// testPKI is a CA made for one test, with a broker certificate for
// 127.0.0.1 and a client certificate, all written as PEM files.
type testPKI struct {
	dir                   string
	ca                    string
	serverCert, serverKey string
	clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	p := testPKI{dir: t.TempDir()}
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "linesight test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p.ca = p.write(t, "ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", keyDER)
	}
	p.serverCert, p.serverKey = leaf("broker", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("appliance", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p testPKI) write(t *testing.T, name, kind string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	b := startBroker(t, &brokerTLS{CA: pki.ca, Cert: pki.serverCert, Key: pki.serverKey})
	clientTLS := config.ClientTLS{CA: pki.ca, Cert: pki.clientCert, Key: pki.clientKey}
	subTLS, err := tlsConfig(clientTLS, b.URL())
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/#", subTLS)

	o := testOptions(b.URL())
	o.MQTT.TLS = clientTLS
	ob, app := newOutbox(), newFakeApp()
	runLink(t, o, ob, app)
	ob.Append(verdict("cam0", 1, defects.Fail))
	msgs := sub.await("a verdict over TLS", "/cam0/verdict", func(m []received) bool { return len(m) >= 1 })
	checkInOrder(t, verdictIDs(t, msgs), 1)

	// The broker requires a client certificate: without one the handshake
	// fails, so the link's certificate is what let it in.
	noCert, err := tlsConfig(config.ClientTLS{CA: pki.ca}, b.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("intruder").SetTLSConfig(noCert).SetConnectTimeout(5 * time.Second))
	if tok := c.Connect(); tok.WaitTimeout(waitFor) && tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("connected without a client certificate")
	}
	// And a broker the CA did not sign is refused by the link's client.
	if _, err := tls.Dial("tcp", b.URL()[len("ssl://"):], &tls.Config{RootCAs: x509.NewCertPool()}); err == nil {
		t.Fatal("an empty root pool verified the broker")
	}
}

func TestTLSConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	if c, err := tlsConfig(config.ClientTLS{}, "tcp://h:1883"); c != nil || err != nil {
		t.Errorf("plain TCP got %v, %v", c, err)
	}
	if _, err := tlsConfig(config.ClientTLS{CA: filepath.Join(pki.dir, "nope.pem")}, "ssl://h:8883"); err == nil {
		t.Error("missing CA accepted")
	}
	if _, err := tlsConfig(config.ClientTLS{CA: pki.serverKey}, "ssl://h:8883"); err == nil {
		t.Error("a key file accepted as CA")
	}
	if _, err := tlsConfig(config.ClientTLS{Cert: pki.clientCert, Key: pki.serverKey}, "ssl://h:8883"); err == nil {
		t.Error("mismatched certificate and key accepted")
	}
}
