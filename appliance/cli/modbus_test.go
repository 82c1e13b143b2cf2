package cli

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/modbuslink"
	"github.com/linesight/linesight/appliance/modbuslink/mbpolltest"
	"github.com/linesight/linesight/internal/testenv"
)

// The appliance on the synthetic line, with its Modbus server, driven by
// mbpoll as a PLC would: write a part id, pulse the trigger coil, see the
// verdict in the camera's registers; change the recipe by its register,
// audited as modbus.
func TestModbusPLCAgainstTheAppliance(t *testing.T) {
	testenv.RequireMbpoll(t)
	var a *process
	var port string
	// The server binds its own port: try random ones until one is free.
	for try := 0; a == nil; try++ {
		if try == 10 {
			t.Fatal("no free port for the Modbus server in 10 tries")
		}
		port = strconv.Itoa(20000 + rand.IntN(30000))
		cfg := runConfig{Cameras: triggeredCam0,
			Rest: webOnPort0 + "modbus: {listen: \"127.0.0.1:" + port + "\"}\n"}.write(t)
		if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "classes.yaml"), []byte(recipeDefects), 0o644); err != nil {
			t.Fatal(err)
		}
		p := launchAppliance(t, cfg)
		p.waitFor(t, "the Modbus server or its error", func() bool {
			l := p.Log.String()
			return strings.Contains(l, "modbus server listening") || strings.Contains(l, "address already in use")
		})
		if strings.Contains(p.Log.String(), "modbus server listening") {
			a = p
			a.waitReady(t)
		} else {
			p.stop(t)
		}
	}
	base := modbuslink.CameraBase
	// "K-1" into cam0's part-id registers, then the coil.
	mbpolltest.Write(t, port, "4", base+modbuslink.HoldPartID, strconv.Itoa(int('K')<<8|int('-')), strconv.Itoa(int('1')<<8))
	mbpolltest.Write(t, port, "0", 0, "1")
	testenv.WaitFor(t, "the triggered verdict in cam0's registers", func() bool {
		return mbpolltest.Read(t, port, "3", base+modbuslink.InCount, 2)[1] == 1
	})
	regs := mbpolltest.Read(t, port, "3", base, 22)
	if regs[modbuslink.InOutcome] == 0 || regs[modbuslink.InTrigger] != int(modbuslink.TriggerAccepted) ||
		regs[modbuslink.InPartID] != int('K')<<8|int('-') || regs[modbuslink.InPartID+1] != int('1')<<8 {
		t.Errorf("cam0 registers after the trigger: %v", regs)
	}
	if g := mbpolltest.Read(t, port, "3", 0, 3); g[modbuslink.InState] != 1 {
		t.Errorf("state register %d, want 1 (ready)", g[modbuslink.InState])
	}

	mbpolltest.Write(t, port, "4", modbuslink.HoldRecipe, "1")
	testenv.WaitFor(t, "recipe widget-b active", func() bool {
		return mbpolltest.Read(t, port, "3", modbuslink.InRecipe, 1)[0] == 1
	})
	a.stop(t)
	if got := auditedRecipeChanges(t, a.Dir); !slices.Equal(got, []string{"modbus: widget-a -> widget-b"}) {
		t.Errorf("audited recipe changes %q, want the modbus one", got)
	}
}
