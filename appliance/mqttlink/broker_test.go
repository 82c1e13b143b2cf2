package mqttlink

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitFor bounds every wait in these tests; it only guards against hangs.
const waitFor = 30 * time.Second

// broker is a real mosquitto on a free loopback port, with its config file
// and persistence in a test directory. It can be stopped and started again
// on the same port, keeping persistent sessions as a plant broker would.
type broker struct {
	t    testing.TB
	dir  string
	conf string
	port int
	tls  bool

	mu  sync.Mutex
	cmd *exec.Cmd
	out *syncBuffer
}

type brokerTLS struct{ ca, cert, key string }

func mosquittoPath(t testing.TB) string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	t.Skip("mosquitto is not installed (make setup installs it)")
	return ""
}

func startBroker(t testing.TB, tlsFiles *brokerTLS) *broker {
	t.Helper()
	b := &broker{t: t, dir: t.TempDir(), port: freePort(t), tls: tlsFiles != nil}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nlog_dest stderr\nlog_type error\nlog_type warning\n",
		b.port, b.dir)
	if u, err := user.Current(); err == nil {
		conf += "user " + u.Username + "\n" // as root, mosquitto would switch to a user who cannot write here
	}
	if tlsFiles != nil {
		conf += fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\ntls_version tlsv1.2\n", tlsFiles.ca, tlsFiles.cert, tlsFiles.key)
	}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(func() { b.stop(syscall.SIGKILL) })
	return b
}

func (b *broker) URL() string {
	if b.tls {
		return "ssl://127.0.0.1:" + strconv.Itoa(b.port)
	}
	return "tcp://127.0.0.1:" + strconv.Itoa(b.port)
}

// start runs mosquitto and waits until it accepts connections.
func (b *broker) start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.out = &syncBuffer{}
	b.cmd = exec.Command(mosquittoPath(b.t), "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	deadline := time.Now().Add(waitFor)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(b.port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on %d: %v\n%s", b.port, err, b.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends mosquitto: SIGTERM saves its sessions to disk, SIGKILL does not.
func (b *broker) stop(sig syscall.Signal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(sig)
	_ = b.cmd.Wait()
	b.cmd = nil
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
