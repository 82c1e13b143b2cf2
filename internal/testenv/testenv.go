// Package testenv finds what some tests need beyond Go: the ONNX Runtime
// library, a Python with the reference modules, mosquitto, Chromium, root.
// Where one is missing the test is skipped with the reason, except under
// LINESIGHT_REQUIRE_REFERENCE=1 (CI, `make test`), where it fails: CI must
// run every test, and a missing tool there is a broken setup, not a pass.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/linesight/linesight/internal/ortlib"
)

// RequireEnv, set to 1 (as CI does), turns a missing tool into a failure.
const RequireEnv = "LINESIGHT_REQUIRE_REFERENCE"

// Required reports whether missing tools fail the tests.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Missing ends the test for want of what: it fails under RequireEnv=1 and
// is skipped otherwise, in both cases saying what is missing and why.
func Missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s, and %s=1 requires it", what, RequireEnv)
		return
	}
	t.Skipf("skipped: %s", what)
}

// ORTLibrary returns the ONNX Runtime library the engine would load
// ($LINESIGHT_ORT_LIB, else where `make setup` installs it), or why it
// cannot.
func ORTLibrary() (string, error) {
	path := ortlib.Resolve("")
	return path, ortlib.Check(path)
}

// RequireORT returns the ONNX Runtime library, or ends the test (Missing).
func RequireORT(t testing.TB) string {
	t.Helper()
	path, err := ORTLibrary()
	if err != nil {
		Missing(t, err.Error())
	}
	return path
}

// MainRequireORT is RequireORT for a TestMain whose every test runs ONNX
// Runtime: without the library it exits, with status 1 under
// RequireEnv=1, else 0 after saying that the package's tests were skipped.
func MainRequireORT() {
	_, err := ORTLibrary()
	if err == nil {
		return
	}
	if Required() {
		fmt.Fprintf(os.Stderr, "%v, and %s=1 requires it\n", err, RequireEnv)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "SKIP every test of this package: %v\n", err)
	os.Exit(0)
}

var pythons sync.Map // modules -> interpreter path, "" when none can

// FindPython returns a python3 that can import modules ("PIL", "torch,
// numpy"), or "".
func FindPython(modules string) string {
	if p, ok := pythons.Load(modules); ok {
		return p.(string)
	}
	found := ""
	for _, candidate := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(candidate)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import "+modules).Run() == nil {
			found = path
			break
		}
	}
	pythons.Store(modules, found)
	return found
}

// RequirePython returns a python3 that can import modules, or ends the
// test (Missing).
func RequirePython(t testing.TB, modules string) string {
	t.Helper()
	py := FindPython(modules)
	if py == "" {
		Missing(t, fmt.Sprintf("no python3 that can import %s (make setup installs Debian's packages for them)", modules))
	}
	return py
}

// RequireMosquitto returns the mosquitto broker binary, or ends the test
// (Missing).
func RequireMosquitto(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	Missing(t, "mosquitto is not installed (make setup installs it)")
	return ""
}

// RequireChromium returns a Chromium or Chrome binary, or ends the test
// (Missing).
func RequireChromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "Chromium not found (make setup installs Debian's chromium)")
	return ""
}

// RequireMbpoll returns Debian's mbpoll, the Modbus client the Modbus
// tests drive, or ends the test (Missing).
func RequireMbpoll(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mbpoll"); err == nil {
		return p
	}
	Missing(t, "mbpoll is not installed (make setup installs it)")
	return ""
}

// RequireNodeOPCUA returns the node binary and the directory whose
// node_modules holds node-opcua-client (the OPC UA client the OPC UA tests
// drive, a development dependency `make setup` installs), or ends the test
// (Missing). root is the repository root.
func RequireNodeOPCUA(t testing.TB, root string) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node is not installed (make setup installs it)")
		return "", ""
	}
	modules = filepath.Join(root, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "node-opcua-client", "package.json")); err != nil {
		Missing(t, "node-opcua-client is not in "+modules+" (make setup runs npm ci)")
		return "", ""
	}
	return node, modules
}
