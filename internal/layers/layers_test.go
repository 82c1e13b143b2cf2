// Package layers holds the test that keeps LineSight's imports one-way:
// docs/architecture.md draws the layers it checks.
package layers

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/linesight/linesight/"

// layer is a package's layer, lowest first; a package may import only
// from its own layer or lower ones.
func layer(pkg string) (int, string) {
	p := strings.TrimPrefix(pkg, module)
	switch {
	case strings.HasPrefix(p, "internal/"):
		return 0, "foundation (internal/)"
	case p == "defects" || strings.HasPrefix(p, "defects/"):
		return 1, "domain (defects/)"
	case strings.HasPrefix(p, "pipeline/"):
		return 2, "line (pipeline/)"
	case p == "appliance/app" || p == "appliance/cli" || p == "appliance/offline" || p == "appliance/benchmodels" || p == "appliance/distill" || strings.HasPrefix(p, "appliance/cmd/"):
		return 5, "wiring and tools (appliance/app, cli, offline, benchmodels, distill, cmd)"
	case p == "web" || strings.HasPrefix(p, "web/"):
		return 4, "HTTP (web/)"
	case strings.HasPrefix(p, "appliance/"):
		return 3, "appliance services (appliance/)"
	default:
		return 6, "tools (firmware/)"
	}
}

func TestImportsRunDownward(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		me, name := layer(f[0])
		seen++
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			if l, lname := layer(imp); l > me {
				t.Errorf("%s, in the %s layer, imports %s from the higher %s layer", strings.TrimPrefix(f[0], module), name, strings.TrimPrefix(imp, module), lname)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("go list named %d packages: not the whole module", seen)
	}
}

// toolchain is the offline model toolchain (graph builder, importers,
// references, bundle writing): what makes models, apart from what runs
// them.
const toolchain = module + "pipeline/clip/toolchain/"

// The runtime never needs the toolchain: only the toolchain itself and the
// tools that make or measure models (the command line, the model
// benchmark) import it, tests aside.
func TestTheRuntimeDoesNotImportTheToolchain(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	tools := map[string]bool{module + "appliance/cli": true, module + "appliance/benchmodels": true, module + "appliance/distill": true}
	seen := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if strings.HasPrefix(f[0], toolchain) || tools[f[0]] {
			seen = seen || tools[f[0]]
			continue
		}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, toolchain) {
				t.Errorf("%s imports the model toolchain's %s", strings.TrimPrefix(f[0], module), strings.TrimPrefix(imp, module))
			}
		}
	}
	if !seen {
		t.Fatal("go list did not name the command line: not the whole module")
	}
}
