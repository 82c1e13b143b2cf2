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

	"github.com/linesight/linesight/internal/testenv"
)

// Python returns an interpreter that can import modules ("PIL",
// "torch, numpy"); without one the test is skipped, or fails under
// LINESIGHT_REQUIRE_REFERENCE=1 (testenv.RequirePython).
func Python(t testing.TB, modules string) string {
	t.Helper()
	return testenv.RequirePython(t, modules)
}

// Find returns an interpreter that can import modules, or "".
func Find(modules string) string { return testenv.FindPython(modules) }

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
