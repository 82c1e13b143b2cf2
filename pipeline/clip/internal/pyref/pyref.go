// Package pyref finds the Python interpreter that runs the independent
// references of the CLIP tests (Pillow, PyTorch, the regex module), from
// Debian's packages that `make setup` installs.
package pyref

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv, set to 1 (as CI does), turns a missing reference into a
// failure instead of a skipped test.
const RequireEnv = "LINESIGHT_REQUIRE_REFERENCE"

// Python returns an interpreter that can import modules ("PIL",
// "torch, numpy"); without one the test is skipped, or fails under
// RequireEnv=1.
func Python(t testing.TB, modules string) string {
	t.Helper()
	if py := Find(modules); py != "" {
		return py
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("no python3 that can import %s, and %s=1", modules, RequireEnv)
	}
	t.Skipf("no python3 that can import %s: skipping the reference comparison", modules)
	return ""
}

// Find returns an interpreter that can import modules, or "".
func Find(modules string) string {
	for _, candidate := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(candidate)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import "+modules).Run() == nil {
			return path
		}
	}
	return ""
}

// Run writes job as JSON to a temporary file and runs `python script FILE`,
// failing the test with the script's output if it fails.
func Run(t testing.TB, python, script string, job any) {
	t.Helper()
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, script, path).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// ReadTensor reads a file of little-endian float32 values, as the reference
// scripts write them.
func ReadTensor(t testing.TB, path string) []float32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return v
}
