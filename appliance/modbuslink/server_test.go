package modbuslink

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/appliance/plc/plctest"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// startServer serves on a loopback port: it tries random high ports until
// one binds (the library binds its own listener, so the port cannot be
// handed over; a port in use is an error at bind, never a race later).
func startServer(t *testing.T, o Options, board *plc.Board, line plc.Line) (*Server, string) {
	t.Helper()
	o.Log = slog.New(slog.DiscardHandler)
	for range 50 {
		port := 20000 + rand.IntN(30000)
		o.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s := New(o, board, line)
		err := s.Start()
		if err == nil {
			t.Cleanup(s.Stop)
			return s, strconv.Itoa(port)
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatal(err)
		}
	}
	t.Fatal("no free loopback port in 50 tries")
	return nil, ""
}

var mbpollValue = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(-?\d+)`)

// mbpoll runs Debian's mbpoll against the server (0-based addresses) and
// returns the values it read, by address.
func mbpoll(t *testing.T, port string, args ...string) map[int]int {
	t.Helper()
	bin := testenv.RequireMbpoll(t)
	full := append([]string{"-m", "tcp", "-a", "1", "-0", "-1", "-o", "2", "-p", port}, args...)
	out, err := exec.Command(bin, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	got := map[int]int{}
	for _, m := range mbpollValue.FindAllStringSubmatch(string(out), -1) {
		addr, _ := strconv.Atoi(m[1])
		v, _ := strconv.Atoi(m[2])
		got[addr] = v
	}
	return got
}

// read reads n registers of type typ (3 input, 4 holding) from addr.
func read(t *testing.T, port, typ string, addr, n int) []int {
	t.Helper()
	got := mbpoll(t, port, "-t", typ, "-r", strconv.Itoa(addr), "-c", strconv.Itoa(n), "127.0.0.1")
	out := make([]int, n)
	for i := range out {
		v, ok := got[addr+i]
		if !ok {
			t.Fatalf("mbpoll did not print register %d", addr+i)
		}
		out[i] = v
	}
	return out
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
	mbpoll(t, port, append([]string{"-t", "4", "-r", strconv.Itoa(camBase(0) + HoldPartID), "127.0.0.1"}, asciiRegs("P-9")...)...)
	mbpoll(t, port, "-t", "0", "-r", "0", "127.0.0.1", "1")
	if got := line.Triggered(); !slices.Equal(got, []string{"cam0/P-9"}) {
		t.Errorf("triggers %v, want cam0/P-9", got)
	}
	if r := read(t, port, "3", camBase(0)+InTrigger, 1)[0]; r != int(TriggerAccepted) {
		t.Errorf("trigger result %d, want accepted", r)
	}
	if c := mbpoll(t, port, "-t", "0", "-r", "0", "-c", "2", "127.0.0.1"); c[0] != 0 || c[1] != 0 {
		t.Errorf("coils read %v after the pulse, want 0: a trigger is an edge", c)
	}
	// A pulse without a part id is refused, and says so.
	mbpoll(t, port, "-t", "0", "-r", "1", "127.0.0.1", "1")
	if r := read(t, port, "3", camBase(1)+InTrigger, 1)[0]; r != int(TriggerNoPartID) {
		t.Errorf("trigger without a part id: result %d, want %d", r, TriggerNoPartID)
	}

	// The recipe register: index 1 is widget-b.
	mbpoll(t, port, "-t", "4", "-r", strconv.Itoa(HoldRecipe), "127.0.0.1", "1")
	testenv.WaitFor(t, "the recipe change", func() bool { return line.Recipe() == "widget-b" })
	testenv.WaitFor(t, "the recipe result", func() bool { return read(t, port, "3", InRecipeResult, 1)[0] == int(RecipeDone) })
	if by := line.ChangedBy(); !slices.Equal(by, []string{"modbus"}) {
		t.Errorf("recipe changed by %v, want modbus", by)
	}
	if r := read(t, port, "4", HoldRecipe, 1)[0]; r != 1 {
		t.Errorf("recipe register reads %d after the change, want 1", r)
	}
	mbpoll(t, port, "-t", "4", "-r", strconv.Itoa(HoldRecipe), "127.0.0.1", "7")
	testenv.WaitFor(t, "the unknown recipe's result", func() bool { return read(t, port, "3", InRecipeResult, 1)[0] == int(RecipeUnknown) })
	if line.Recipe() != "widget-b" {
		t.Errorf("an unknown recipe index changed the recipe to %q", line.Recipe())
	}

	// Past the map is an illegal address, not zeros.
	bin := testenv.RequireMbpoll(t)
	if out, err := exec.Command(bin, "-m", "tcp", "-a", "1", "-0", "-1", "-o", "2", "-p", port, "-t", "3", "-r", strconv.Itoa(camBase(2)), "127.0.0.1").CombinedOutput(); err == nil && !strings.Contains(string(out), "Illegal data address") {
		t.Errorf("reading past the last camera: %s", out)
	}
}

// Clients that connect and never speak hold the connection slots, but the
// board keeps taking verdicts, a client past the cap is refused at once,
// and a slot frees when the idle timeout closes a silent connection.
func TestHostileClientsCannotStallVerdicts(t *testing.T) {
	board := plc.NewBoard([]string{"cam0"})
	_, port := startServer(t, Options{MaxClients: 2, IdleTimeout: time.Second}, board, plctest.New("widget-a"))
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// A third is closed by the server, not left hanging.
	extra, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(testenv.WaitDeadline))
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
		out, err := exec.Command(testenv.RequireMbpoll(t), "-m", "tcp", "-a", "1", "-0", "-1", "-o", "1", "-p", port, "-t", "3", "-r", "0", "127.0.0.1").CombinedOutput()
		return err == nil && strings.Contains(string(out), "[0]:")
	})
}
