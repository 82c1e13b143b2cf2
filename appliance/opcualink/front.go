package opcualink

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// front is the port OPC UA clients connect to. The library's listener
// reads each new connection's Hello before it accepts the next one, with
// no deadline, so one client that connects and says nothing would lock
// every other out. The front takes connections itself, caps how many are
// open, gives each handshakeTimeout to send its first message header, and
// only then pipes it to the library's listener on loopback.
type front struct {
	ln       net.Listener
	backend  string
	sem      chan struct{}
	timeout  time.Duration
	log      *slog.Logger
	refused  atomic.Uint64
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]bool
	stopping bool
}

// headerLen is an OPC UA TCP message header: type, chunk, size.
const headerLen = 8

func newFront(ln net.Listener, backend string, max int, timeout time.Duration, log *slog.Logger) *front {
	return &front{ln: ln, backend: backend, sem: make(chan struct{}, max), timeout: timeout, log: log, open: map[net.Conn]bool{}}
}

// start serves on its own goroutine until stop.
func (f *front) start() {
	f.wg.Add(1) // before stop can wait
	go f.serve()
}

func (f *front) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.log.Error("opcua: accept", "err", err)
			}
			return
		}
		select {
		case f.sem <- struct{}{}:
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer func() { <-f.sem }()
				f.pipe(c)
			}()
		default:
			f.refused.Add(1)
			f.log.Warn("opcua: connection refused: max_connections reached", "remote", c.RemoteAddr())
			c.Close()
		}
	}
}

// track registers a connection to close on stop; false when stopping.
func (f *front) track(c net.Conn, on bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on {
		if f.stopping {
			return false
		}
		f.open[c] = true
	} else {
		delete(f.open, c)
	}
	return true
}

func (f *front) pipe(c net.Conn) {
	defer c.Close()
	if !f.track(c, true) {
		return
	}
	defer f.track(c, false)
	hdr := make([]byte, headerLen)
	c.SetReadDeadline(time.Now().Add(f.timeout))
	if _, err := io.ReadFull(c, hdr); err != nil {
		f.log.Debug("opcua: connection closed before its first message", "remote", c.RemoteAddr(), "err", err)
		return
	}
	c.SetReadDeadline(time.Time{})
	b, err := net.Dial("tcp", f.backend)
	if err != nil {
		f.log.Error("opcua: the server behind the front is unreachable", "err", err)
		return
	}
	defer b.Close()
	if !f.track(b, true) {
		return
	}
	defer f.track(b, false)
	if _, err := b.Write(hdr); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); b.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(c, b); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

// stop closes the listener and every open connection, and waits.
func (f *front) stop() {
	f.ln.Close()
	f.mu.Lock()
	f.stopping = true
	for c := range f.open {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
