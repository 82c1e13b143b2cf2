package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

// recipeDefects are the offline classes with two recipes: widget-b judges
// with a set of other classes (bent), so a verdict shows which judged it.
var recipeDefects = strings.Replace(offlineDefects, "cameras:\n", `  others:
    good: {name: fine, prompts: ["a photo of a fine part"], threshold: 0.5}
    defects:
      - {name: bent, prompts: ["a photo of a bent part"], threshold: 0.5}
recipes:
  - name: widget-a
  - name: widget-b
    cameras: {default: others}
cameras:
`, 1)

// The line changes product from the PLC (MQTT) and from the command line:
// each change takes effect for the next part, shows in the status, and is
// in the audit log with who made it.
func TestRecipeChangesFromThePLCAndTheCommandLine(t *testing.T) {
	broker := mosquitto.Start(t, nil)
	cfg := runConfig{Cameras: triggeredCam0, Broker: broker.URL(),
		Rest: "journal: {flush_interval: 20ms}\n" + webOnPort0}.write(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "classes.yaml"), []byte(recipeDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	plc, msgs := recordPLC(t, broker.URL())
	a := startAppliance(t, cfg)
	msgs.wait(t, "linesight/l1/status", `"recipe":"widget-a","recipes":["widget-a","widget-b"]`)

	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P-1"}`).Wait()
	if v := msgs.wait(t, "linesight/l1/cam0/verdict", `"P-1"`); !strings.Contains(v, `"recipe":"widget-a"`) {
		t.Errorf("P-1 before any change: %s", v)
	}

	plc.Publish("linesight/l1/recipe/set", 1, false, `{"v":1,"recipe":"widget-b"}`).Wait()
	msgs.wait(t, "linesight/l1/status", `"recipe":"widget-b"`)
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P-2"}`).Wait()
	v := msgs.wait(t, "linesight/l1/cam0/verdict", `"P-2"`)
	if !strings.Contains(v, `"recipe":"widget-b"`) || !strings.Contains(v, `"class":"bent"`) {
		t.Errorf("P-2 after the PLC's change to widget-b (the set of fine and bent): %s", v)
	}

	out := mustRun(t, "", "recipe", "--config", cfg, "widget-a").stdout
	if !strings.Contains(out, "* 0 widget-a") || !strings.Contains(out, "  1 widget-b") {
		t.Errorf("linesight recipe widget-a printed:\n%s", out)
	}
	plc.Publish("linesight/l1/cam0/trigger", 1, false, `{"part_id":"P-3"}`).Wait()
	if v := msgs.wait(t, "linesight/l1/cam0/verdict", `"P-3"`); !strings.Contains(v, `"recipe":"widget-a"`) {
		t.Errorf("P-3 after the command line's change back: %s", v)
	}
	if r := run(t, "", "recipe", "--config", cfg, "nope"); r.code == 0 || !strings.Contains(r.stder, `no recipe "nope"`) {
		t.Errorf("unknown recipe: exit %d, %s", r.code, r.stder)
	}
	a.stop(t)

	changes := auditedRecipeChanges(t, a.Dir)
	want := map[string]bool{"mqtt: widget-a -> widget-b": true, "cli: widget-b -> widget-a": true}
	if len(changes) != 2 || !want[changes[0]] || !want[changes[1]] {
		t.Errorf("audited recipe changes %q, want the PLC's and the command line's", changes)
	}
}

// auditedRecipeChanges reads the recipe changes from the audit log of the
// stopped appliance whose configuration is in dir, as "user: old -> new".
func auditedRecipeChanges(t *testing.T, dir string) []string {
	t.Helper()
	store, err := users.OpenStore(filepath.Join(dir, "data", users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", store)
	log, err := store.AuditLog(50)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, e := range log {
		if e.Action == "recipe.change" {
			changes = append(changes, e.User+": "+e.Detail)
		}
	}
	return changes
}
