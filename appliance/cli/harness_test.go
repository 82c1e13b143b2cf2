package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/internal/testenv"
)

// The harness for the tests that run `linesight run` (or serve) in this
// process: write a configuration, start the command, wait for a condition,
// stop it and read its exit code and log.

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listeningURL reads the dashboard's address from the log: the configs
// listen on port 0, so the port is the one the server bound.
var listeningURL = regexp.MustCompile(`msg="web server listening" url=(http://\S+)/`)

// waitDeadline is how long a notification may take: testenv.WaitFor's.
const waitDeadline = testenv.WaitDeadline

// webOnPort0 puts the dashboard on a port the system picks, read back
// from the log (not the default 8080, which another program may hold).
const webOnPort0 = `web: {listen: "127.0.0.1:0"}` + "\n"

// triggeredCam0 is one camera, cam0, that captures a frame when a part is
// triggered.
const triggeredCam0 = `  - id: cam0
    mode: triggered
    source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}
`

// stopDeadline is how long a cancelled command may take to end.
const stopDeadline = 60 * time.Second

// runConfig is an appliance's configuration on a tiny model and synthetic
// cameras: line l1, the classes of offlineDefects, one inference thread.
type runConfig struct {
	Dir     string // where it is written; a new temporary directory when ""
	Name    string // the file's name; linesight.yaml when ""
	Model   string // the bundle; a tiny synthetic one (seed 1) when ""
	DataDir string // the data directory; data beside the config when ""
	Cameras string // the items of the cameras list, YAML
	Broker  string // the MQTT broker of the PLC link; none when ""
	Rest    string // the other sections (journal, web), YAML
}

// write writes the configuration, the classes beside it and the data
// directory, and returns the configuration's path.
func (c runConfig) write(t *testing.T) string {
	t.Helper()
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	if c.Name == "" {
		c.Name = "linesight.yaml"
	}
	if c.Model == "" {
		c.Model = synth(t, 1, "fp32")
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	yaml := fmt.Sprintf("line: l1\ndata_dir: %s\ndefects: classes.yaml\nmodel: {bundle: %s, threads: 1}\ncameras:\n%s\n",
		c.DataDir, c.Model, strings.TrimRight(c.Cameras, "\n"))
	if c.Broker != "" {
		yaml += fmt.Sprintf("mqtt: {broker: %q, client_id: appliance-under-test}\n", c.Broker)
	}
	yaml += c.Rest
	path := filepath.Join(c.Dir, c.Name)
	dataDir := c.DataDir
	if !filepath.IsAbs(dataDir) {
		dataDir = filepath.Join(c.Dir, dataDir)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "classes.yaml"), []byte(offlineDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// process is a linesight command running in this process until it is
// stopped or the test ends.
type process struct {
	Dir string        // the directory of the appliance's configuration
	URL string        // the dashboard, http://127.0.0.1:PORT, once read from the log
	Log *lockedBuffer // its stdout and stderr

	cancel context.CancelFunc
	done   chan struct{} // closed when it has ended, code set
	code   int
}

// launch starts `linesight args...` without waiting for anything.
func launch(t *testing.T, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{Log: &lockedBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		p.code = Run(ctx, args, Stdio{In: strings.NewReader(""), Out: p.Log, Err: p.Log})
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("log of linesight %s:\n%s", args[0], p.Log.String())
		}
	})
	return p
}

// launchAppliance starts `linesight run` with the configuration cfg without
// waiting for it to be ready: the tests of a failing start read its exit.
func launchAppliance(t *testing.T, cfg string) *process {
	t.Helper()
	a := launch(t, "run", "--config", cfg)
	a.Dir = filepath.Dir(cfg)
	return a
}

// startAppliance starts `linesight run` with the configuration cfg, which
// has the dashboard on, and waits until it serves and is ready.
func startAppliance(t *testing.T, cfg string) *process {
	t.Helper()
	a := launchAppliance(t, cfg)
	a.waitReady(t)
	return a
}

// waitReady waits until the dashboard says ready on /readyz.
func (p *process) waitReady(t *testing.T) {
	t.Helper()
	url := p.url(t)
	p.waitFor(t, "the appliance to be ready", func() bool {
		code, _ := get(url + "/readyz")
		return code == http.StatusOK
	})
}

// url waits for the dashboard's address in the log and returns it.
func (p *process) url(t *testing.T) string {
	t.Helper()
	p.waitFor(t, "the web server listening", func() bool {
		if m := listeningURL.FindStringSubmatch(p.Log.String()); m != nil {
			p.URL = m[1]
		}
		return p.URL != ""
	})
	return p.URL
}

// waitLog waits until the log holds s.
func (p *process) waitLog(t *testing.T, what, s string) {
	t.Helper()
	p.waitFor(t, what, func() bool { return strings.Contains(p.Log.String(), s) })
}

// waitFor is testenv.WaitFor that fails at once, with the log, if the command ends
// before cond holds.
func (p *process) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, what, func() bool {
		select {
		case <-p.done:
			t.Fatalf("exited %d while waiting for %s:\n%s", p.code, what, p.Log.String())
		default:
		}
		return cond()
	})
}

// stop cancels the command, waits for it and returns its exit code (-1 if
// it did not end). It may be called again: the later calls return the
// same.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	return p.wait(t, stopDeadline)
}

// wait waits up to within for the command to end by itself and returns
// its exit code (-1 if it did not end).
func (p *process) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		t.Errorf("still running %v after it was cancelled or should have ended:\n%s", within, p.Log.String())
		return -1
	}
}

// get returns the status and body of a GET of url; status 0 and the error
// when the request fails.
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, b.String()
}

// connectPLC connects a PLC-like MQTT client to the broker, hands it every
// message of line l1 and disconnects it when the test ends.
func connectPLC(t *testing.T, brokerURL string, handle func(topic string, payload []byte)) paho.Client {
	t.Helper()
	plc := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID("plc"))
	if tok := plc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { plc.Disconnect(100) })
	plc.Subscribe("linesight/l1/#", 1, func(_ paho.Client, m paho.Message) { handle(m.Topic(), m.Payload()) }).Wait()
	return plc
}

// plcMessages is what a PLC-like client received, by topic.
type plcMessages struct {
	mu  sync.Mutex
	got map[string][]string
}

// recordPLC connects a PLC-like client that records every message.
func recordPLC(t *testing.T, brokerURL string) (paho.Client, *plcMessages) {
	t.Helper()
	m := &plcMessages{got: map[string][]string{}}
	plc := connectPLC(t, brokerURL, func(topic string, payload []byte) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.got[topic] = append(m.got[topic], string(payload))
	})
	return plc, m
}

// on returns the messages received on topic so far.
func (m *plcMessages) on(topic string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got[topic])
}

// wait waits for a message on topic that contains s and returns it.
func (m *plcMessages) wait(t *testing.T, topic, s string) string {
	t.Helper()
	var found string
	testenv.WaitFor(t, fmt.Sprintf("a message on %s containing %q", topic, s), func() bool {
		for _, p := range m.on(topic) {
			if strings.Contains(p, s) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}
