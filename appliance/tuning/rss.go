package tuning

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// MB is a megabyte (MiB), the unit of model.max_memory_mb.
const MB = 1 << 20

// ReadRSS returns the process's resident set size (VmRSS) in bytes.
func ReadRSS() (int64, error) { return statusField("VmRSS:") }

// readPeak returns the peak resident set size (VmHWM) in bytes.
func readPeak() (int64, error) { return statusField("VmHWM:") }

// resetPeak asks Linux to restart the VmHWM count from the current RSS, so
// the peak of one warm-up batch can be read. Not every kernel or sandbox
// allows it; the caller then falls back to VmRSS.
func resetPeak() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

func statusField(name string) (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read memory use: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(name)) {
			continue
		}
		f := bytes.Fields(line[len(name):])
		if len(f) != 2 || string(f[1]) != "kB" {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("read memory use: no %s line in /proc/self/status", name)
}
