// Package mosquitto starts a real mosquitto broker on a free loopback port
// for tests: the PLC link's tests and the appliance's end-to-end tests.
package mosquitto

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linesight/linesight/internal/testenv"
)

// waitFor bounds the wait for the broker to listen; it only guards against hangs.
const waitFor = 30 * time.Second

// Broker is a real mosquitto on a free loopback port, with its config file
// and persistence in a test directory. It can be stopped and started again
// on the same port, keeping persistent sessions as a plant broker would.
type Broker struct {
	t    testing.TB
	dir  string
	conf string
	port int
	tls  bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
	out    *syncBuffer
}

// TLS names the PEM files for a mutual-TLS listener.
type TLS struct{ CA, Cert, Key string }

// Path finds the mosquitto binary; the test is skipped without it, or fails
// when LINESIGHT_REQUIRE_REFERENCE=1 (CI): testenv.RequireMosquitto.
func Path(t testing.TB) string {
	t.Helper()
	return testenv.RequireMosquitto(t)
}

// Start runs a broker for the test and stops it when the test ends.
// tlsFiles, when set, makes the listener require client certificates.
func Start(t testing.TB, tlsFiles *TLS) *Broker {
	t.Helper()
	b := &Broker{t: t, dir: t.TempDir(), tls: tlsFiles != nil}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	t.Cleanup(func() { b.Stop(syscall.SIGKILL) })
	// The port is below the ephemeral range, so a restart finds it free
	// again; another test's broker can still take it before mosquitto binds
	// it: then mosquitto exits, and it tries another.
	for attempt := 1; ; attempt++ {
		b.port = testenv.ServerPort(t)
		b.writeConf(tlsFiles)
		err := b.start()
		if err == nil {
			return b
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

func (b *Broker) writeConf(tlsFiles *TLS) {
	b.t.Helper()
	// log_type information makes mosquitto say when its listener is open.
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type information\n",
		b.port, b.dir)
	if u, err := user.Current(); err == nil {
		conf += "user " + u.Username + "\n" // as root, mosquitto would switch to a user who cannot write here
	}
	if tlsFiles != nil {
		conf += fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\ntls_version tlsv1.2\n", tlsFiles.CA, tlsFiles.Cert, tlsFiles.Key)
	}
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		b.t.Fatal(err)
	}
}

// URL is the broker's address for clients.
func (b *Broker) URL() string {
	if b.tls {
		return "ssl://127.0.0.1:" + strconv.Itoa(b.port)
	}
	return "tcp://127.0.0.1:" + strconv.Itoa(b.port)
}

// Start runs mosquitto (again) on its port and waits until it accepts
// connections.
func (b *Broker) Start() {
	b.t.Helper()
	if err := b.start(); err != nil {
		b.t.Fatal(err)
	}
}

var errPortTaken = errors.New("port taken")

// start runs mosquitto and waits until it says its listener is open, so a
// connection is never mistaken for one to another process on the port.
func (b *Broker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.out = &syncBuffer{}
	cmd := exec.Command(Path(b.t), "-c", b.conf)
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	listening := fmt.Sprintf("Opening ipv4 listen socket on port %d.", b.port)
	deadline := time.Now().Add(waitFor)
	for {
		out := b.out.String()
		select {
		case <-exited:
			if strings.Contains(out, "Address already in use") {
				return fmt.Errorf("mosquitto on port %d: %w", b.port, errPortTaken)
			}
			return fmt.Errorf("mosquitto exited before listening on %d:\n%s", b.port, out)
		default:
		}
		if strings.Contains(out, listening) && strings.Contains(out, "running") {
			b.cmd, b.exited = cmd, exited
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("mosquitto did not listen on %d within %v:\n%s", b.port, waitFor, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends mosquitto: SIGTERM saves its sessions to disk, SIGKILL does not.
func (b *Broker) Stop(sig syscall.Signal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(sig)
	<-b.exited
	b.cmd = nil
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
