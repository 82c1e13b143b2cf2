package modbuslink

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/modbuslink/mbpolltest"
	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/appliance/plc/plctest"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// startServer serves on a free loopback port.
func startServer(t *testing.T, o Options, board *plc.Board, line plc.Line) (*Server, string) {
	t.Helper()
	o.Log = slog.New(slog.DiscardHandler)
	s, port, err := StartLoopback(o, board, line)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, port
}

func read(t *testing.T, port, typ string, addr, n int) []int {
	t.Helper()
	return mbpolltest.Read(t, port, typ, addr, n)
}

func asciiRegs(s string) []string {
	regs := make([]uint16, PartIDRegisters)
	putASCII(regs, 0, PartIDRegisters, s)
	out := make([]string, 0, len(regs))
	for _, r := range regs {
		out = append(out, strconv.Itoa(int(r)))
	}
	return out
}

// A PLC with mbpoll reads each camera's last verdict and counters, writes a
// part id and pulses the trigger coil, and changes the recipe.
func TestRegisterMapThroughMbpoll(t *testing.T) {
	board := plc.NewBoard([]string{"cam0", "cam1"})
	line := plctest.New("widget-a")
	line.Alarms = []processalarm.Alarm{{Kind: processalarm.KindFailStreak, Camera: "cam1"}}
	_, port := startServer(t, Options{}, board, line)

	scores := []defects.ClassScore{{Class: "good", Score: 0.1}, {Class: "scratch", Score: 0.2}, {Class: "dent", Score: 0.7}}
	board.Record(defects.Verdict{Camera: "cam1", Seq: 70000, PartID: "A-17", Outcome: defects.Pass, Action: defects.ActionPass, Class: "good", Confidence: 0.9, Scores: scores})
	board.Record(defects.Verdict{Camera: "cam1", Seq: 70001, PartID: "A-18", Outcome: defects.Fail, Action: defects.ActionReject, Class: "dent", Confidence: 0.7, Scores: scores})

	global := read(t, port, "3", 0, 8)
	if global[InMapVersion] != MapVersion || global[InState] != 1 || global[InAlarms] != 1 || global[InRecipe] != 0 ||
		global[InRecipeCount] != 2 || global[InCameraCount] != 2 {
		t.Errorf("global input registers %v", global)
	}
	cam0 := read(t, port, "3", camBase(0), 8)
	if cam0[InCount] != 0 || cam0[InCount+1] != 0 || cam0[InOutcome] != 0 || cam0[InClass] != NoIndex {
		t.Errorf("cam0 before any verdict: %v; want zeros and no class", cam0)
	}
	b := camBase(1)
	cam1 := read(t, port, "3", b, 36)
	want := map[int]int{InCount + 1: 2, InSeq: 70001 >> 16, InSeq + 1: 70001 & 0xFFFF, InOutcome: int(plc.CodeFail), InAction: 2,
		InClass: 2, InConfidence: 700, InPass + 1: 1, InFail + 1: 1, InUncertain + 1: 0, InMissed + 1: 0}
	for off, w := range want {
		if cam1[off] != w {
			t.Errorf("cam1 register %d (offset %d) = %d, want %d", b+off, off, cam1[off], w)
		}
	}
	if id := cam1[InPartID]; id != int('A')<<8|int('-') {
		t.Errorf("cam1 part id register %d = %#x, want 'A-'", b+InPartID, id)
	}

	// Trigger cam0 with part P-9: part id into its holding registers, then
	// the coil.
	mbpolltest.Write(t, port, "4", camBase(0)+HoldPartID, asciiRegs("P-9")...)
	mbpolltest.Write(t, port, "0", 0, "1")
	if got := line.Triggered(); !slices.Equal(got, []string{"cam0/P-9"}) {
		t.Errorf("triggers %v, want cam0/P-9", got)
	}
	if r := read(t, port, "3", camBase(0)+InTrigger, 1)[0]; r != int(TriggerAccepted) {
		t.Errorf("trigger result %d, want accepted", r)
	}
	if c := read(t, port, "0", 0, 2); c[0] != 0 || c[1] != 0 {
		t.Errorf("coils read %v after the pulse, want 0: a trigger is an edge", c)
	}
	// A pulse without a part id is refused, and says so.
	mbpolltest.Write(t, port, "0", 1, "1")
	if r := read(t, port, "3", camBase(1)+InTrigger, 1)[0]; r != int(TriggerNoPartID) {
		t.Errorf("trigger without a part id: result %d, want %d", r, TriggerNoPartID)
	}

	// The recipe register: index 1 is widget-b.
	mbpolltest.Write(t, port, "4", HoldRecipe, "1")
	testenv.WaitFor(t, "the recipe change", func() bool { return line.Recipe() == "widget-b" })
	testenv.WaitFor(t, "the recipe result", func() bool { return read(t, port, "3", InRecipeResult, 1)[0] == int(RecipeDone) })
	if by := line.ChangedBy(); !slices.Equal(by, []string{"modbus"}) {
		t.Errorf("recipe changed by %v, want modbus", by)
	}
	if r := read(t, port, "4", HoldRecipe, 1)[0]; r != 1 {
		t.Errorf("recipe register reads %d after the change, want 1", r)
	}
	mbpolltest.Write(t, port, "4", HoldRecipe, "7")
	testenv.WaitFor(t, "the unknown recipe's result", func() bool { return read(t, port, "3", InRecipeResult, 1)[0] == int(RecipeUnknown) })
	if line.Recipe() != "widget-b" {
		t.Errorf("an unknown recipe index changed the recipe to %q", line.Recipe())
	}

	// Past the map is an illegal address, not zeros.
	if out, err := mbpolltest.Try(t, port, []string{"-t", "3", "-r", strconv.Itoa(camBase(2))}); err == nil && !strings.Contains(out, "Illegal data address") {
		t.Errorf("reading past the last camera: %s", out)
	}
}

// Clients that connect and never speak hold at most max_clients slots: a
// client past the cap is closed at once, a slot frees when the idle
// timeout closes a silent connection, and the board (which the server only
// reads) takes verdicts beside them.
func TestSilentClientsAreCappedAndTimedOut(t *testing.T) {
	board := plc.NewBoard([]string{"cam0"})
	_, port := startServer(t, Options{MaxClients: 2, IdleTimeout: time.Second}, board, plctest.New("widget-a"))
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer testenv.Close(t, "a client connection", c)
		conns = append(conns, c)
	}
	// A third is closed by the server, not left hanging.
	extra, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the refused client connection", extra)
	if err := extra.SetReadDeadline(time.Now().Add(testenv.WaitDeadline)); err != nil {
		t.Fatal(err)
	}
	if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("a client past max_clients: read %v, want the connection closed", err)
	}
	for i := range 1000 {
		board.Record(defects.Verdict{Camera: "cam0", Seq: uint64(i + 1), Outcome: defects.Pass})
	}
	if _, c, _ := board.Last("cam0"); c.Pass != 1000 {
		t.Fatalf("board counted %d verdicts, want 1000", c.Pass)
	}
	// The idle timeout closes the silent clients; then a PLC gets in.
	testenv.WaitFor(t, "a slot after the idle timeout", func() bool {
		out, err := mbpolltest.Try(t, port, []string{"-t", "3", "-r", "0"})
		return err == nil && strings.Contains(out, "[0]:")
	})
}
