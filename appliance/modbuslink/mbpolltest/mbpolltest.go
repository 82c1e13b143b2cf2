// Package mbpolltest drives Debian's mbpoll, the Modbus TCP client the
// tests read and write the appliance's registers with, as a PLC would.
// Addresses are the protocol's, from 0.
package mbpolltest

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
)

var value = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(-?\d+)`)

// Try runs mbpoll once against 127.0.0.1:port with the options args and,
// to write, the values after the host; it returns what mbpoll printed and
// its error.
func Try(t testing.TB, port string, args []string, values ...string) (string, error) {
	t.Helper()
	full := append([]string{"-m", "tcp", "-a", "1", "-0", "-1", "-o", "2", "-p", port}, args...)
	full = append(append(full, "127.0.0.1"), values...)
	out, err := exec.Command(testenv.RequireMbpoll(t), full...).CombinedOutput()
	return string(out), err
}

// Read reads n registers of type typ ("3" input, "4" holding, "0" coils)
// from addr, failing the test when mbpoll fails or leaves one out.
func Read(t testing.TB, port, typ string, addr, n int) []int {
	t.Helper()
	out, err := Try(t, port, []string{"-t", typ, "-r", strconv.Itoa(addr), "-c", strconv.Itoa(n)})
	if err != nil {
		t.Fatalf("mbpoll read %s:%d x%d: %v\n%s", typ, addr, n, err, out)
	}
	got := map[int]int{}
	for _, m := range value.FindAllStringSubmatch(out, -1) {
		a, _ := strconv.Atoi(m[1])
		v, _ := strconv.Atoi(m[2])
		got[a] = v
	}
	vals := make([]int, n)
	for i := range vals {
		v, ok := got[addr+i]
		if !ok {
			t.Fatalf("mbpoll did not print register %d:\n%s", addr+i, out)
		}
		vals[i] = v
	}
	return vals
}

// Write writes values (decimal) to registers or coils of type typ from addr.
func Write(t testing.TB, port, typ string, addr int, values ...string) {
	t.Helper()
	if out, err := Try(t, port, []string{"-t", typ, "-r", strconv.Itoa(addr)}, values...); err != nil {
		t.Fatalf("mbpoll write %s:%d %s: %v\n%s", typ, addr, strings.Join(values, " "), err, out)
	}
}
