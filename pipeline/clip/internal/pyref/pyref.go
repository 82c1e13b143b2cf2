// Package pyref finds the Python interpreter that runs the independent
// references of the CLIP tests (Pillow, PyTorch, the regex module), from
// Debian's packages that `make setup` installs.
package pyref

import (
	"os"
	"os/exec"
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
