package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// RefusingAddr returns a loopback address ("127.0.0.1:PORT") where every
// connection is refused, for as long as the test runs. The port is bound
// by a socket that never listens: the kernel answers connections to it
// with a reset, and no other process can take the port meanwhile, as it
// could one bound and closed again.
func RefusingAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("refusing address: socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("refusing address: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("refusing address: getsockname: %v", err)
	}
	return "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{} // handed out by ServerPort in this process
)

// ServerPort returns a loopback port, free now, for a server the test
// starts by port number and may restart on the same port (mosquitto):
// one below the kernel's ephemeral range, so no listener bound to port 0
// and no outgoing connection of another test is ever given it. Ports are
// not handed out twice in one process; a server that finds the port taken
// by another process should ask for another.
func ServerPort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	const first = 10000
	for range 200 {
		p := first + rand.IntN(low-first)
		portsMu.Lock()
		taken := ports[p]
		ports[p] = true
		portsMu.Unlock()
		if taken {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		if err := ln.Close(); err != nil {
			t.Fatalf("server port %d: %v", p, err)
		}
		return p
	}
	t.Fatalf("no free loopback port from %d to %d after 200 tries", first, low)
	return 0
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default 32768 where it cannot be read).
func ephemeralLow() int {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(raw))
	if len(f) != 2 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= 10000+1000 {
		return 32768
	}
	return low
}
