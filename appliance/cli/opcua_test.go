package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/linesight/linesight/appliance/opcualink"
	"github.com/linesight/linesight/appliance/opcualink/opcuatest"
	"github.com/linesight/linesight/internal/testenv"
)

var opcuaEndpoint = regexp.MustCompile(`msg="opcua server listening" endpoint=(opc\.tcp://\S+)`)

// node-opcua against the running appliance: it calls the Trigger method
// and reads that part's verdict from the camera's variables, and changes
// the recipe with SetRecipe, audited as opcua.
func TestOPCUAClientAgainstTheAppliance(t *testing.T) {
	cfg := runConfig{Cameras: triggeredCam0,
		Rest: webOnPort0 + "opcua: {listen: \"127.0.0.1:0\", methods: true}\n"}.write(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "classes.yaml"), []byte(recipeDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startAppliance(t, cfg)
	var endpoint string
	a.waitFor(t, "the OPC UA endpoint in the log", func() bool {
		m := opcuaEndpoint.FindStringSubmatch(a.Log.String())
		if m != nil {
			endpoint = m[1]
		}
		return m != nil
	})
	ns := opcualink.NamespaceURI("l1")
	r := opcuatest.Run(t, endpoint, ns, []string{"Appliance.State", "Appliance.Recipe"},
		[]opcuatest.Call{{Method: opcualink.MethodTrigger, Args: []string{"cam0", "U-1"}}, {Method: opcualink.MethodSetRecipe, Args: []string{"widget-b"}}})
	if fmt.Sprint(r.Calls) != "[Good Good]" || fmt.Sprint(r.Values["Appliance.State"]) != "1" {
		t.Fatalf("calls %v, state %v", r.Calls, r.Values["Appliance.State"])
	}
	testenv.WaitFor(t, "U-1's verdict on cam0's variables", func() bool {
		r := opcuatest.Run(t, endpoint, ns, []string{"cam0.PartID"}, nil)
		return r.Values["cam0.PartID"] == "U-1"
	})
	r = opcuatest.Run(t, endpoint, ns, []string{"Appliance.Recipe", "cam0.OutcomeCode", "cam0.Count"}, nil)
	if r.Values["Appliance.Recipe"] != "widget-b" || fmt.Sprint(r.Values["cam0.OutcomeCode"]) == "0" || r.Values["cam0.Count"] != "1" {
		t.Errorf("after the calls: %v", r.Values)
	}
	a.stop(t)
	if got := auditedRecipeChanges(t, a.Dir); !slices.Equal(got, []string{"opcua: widget-a -> widget-b"}) {
		t.Errorf("audited recipe changes %q, want the opcua one", got)
	}
}
