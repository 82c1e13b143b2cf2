package opcualink

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/opcualink/opcuatest"
	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/appliance/plc/plctest"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// start serves on a loopback port the system picks.
func start(t *testing.T, o Options, board *plc.Board, line plc.Line) string {
	t.Helper()
	o.Log, o.Line, o.Listen = slog.New(slog.DiscardHandler), "line1", "127.0.0.1:0"
	s := New(o, board, line)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.Endpoint()
}

type call = opcuatest.Call

func client(t *testing.T, endpoint string, read []string, calls []call) opcuatest.Result {
	t.Helper()
	return opcuatest.Run(t, endpoint, NamespaceURI("line1"), read, calls)
}

// node-opcua reads the last verdict, the counters, the state, the recipe
// and the alarms; with methods allowed it triggers a part and changes the
// recipe, and bad calls get bad status codes.
func TestNodeOPCUAReadsTheLastVerdictAndCallsTheMethods(t *testing.T) {
	board := plc.NewBoard([]string{"cam0", "cam1"})
	line := plctest.New("widget-a")
	line.Alarms = []processalarm.Alarm{{Kind: processalarm.KindLowYield, Severity: "warning", Camera: "cam0", Message: "yield 40%"}}
	endpoint := start(t, Options{Methods: true}, board, line)
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	scores := []defects.ClassScore{{Class: "good", Score: 0.2}, {Class: "scratch", Score: 0.8}}
	board.Record(defects.Verdict{Camera: "cam0", Seq: 41, PartID: "A-1", Outcome: defects.Pass, Action: defects.ActionPass, Class: "good", Confidence: 0.9, Scores: scores})
	board.Record(defects.Verdict{Camera: "cam0", Seq: 42, PartID: "A-2", Outcome: defects.Fail, Action: defects.ActionReject, Class: "scratch",
		Confidence: 0.8, Scores: scores, CapturedAt: at, InferredAt: at.Add(30 * time.Millisecond), Recipe: "widget-a"})

	r := client(t, endpoint, []string{"cam0.Count", "cam0.OutcomeCode", "cam0.Outcome", "cam0.ActionCode", "cam0.Class", "cam0.ClassIndex",
		"cam0.Confidence", "cam0.PartID", "cam0.Seq", "cam0.Recipe", "cam0.CapturedAt", "cam0.Pass", "cam0.Fail", "cam1.OutcomeCode",
		"Appliance.State", "Appliance.Recipe", "Appliance.Recipes", "Appliance.AlarmCount", "Appliance.Alarms"},
		[]call{{Method: MethodTrigger, Args: []string{"cam1", "P-7"}}, {Method: MethodSetRecipe, Args: []string{"widget-b"}},
			{Method: MethodSetRecipe, Args: []string{"nope"}}, {Method: MethodTrigger, Args: []string{"cam9", "P-8"}}, {Method: MethodTrigger, Args: []string{"cam1"}}})
	want := map[string]any{"cam0.Count": "2", "cam0.OutcomeCode": 2.0, "cam0.Outcome": "FAIL", "cam0.ActionCode": 2.0, "cam0.Class": "scratch",
		"cam0.ClassIndex": 1.0, "cam0.Confidence": 0.8, "cam0.PartID": "A-2", "cam0.Seq": "42", "cam0.Recipe": "widget-a",
		"cam0.CapturedAt": "2026-12-03T10:00:00.000Z", "cam0.Pass": "1", "cam0.Fail": "1", "cam1.OutcomeCode": 0.0,
		"Appliance.State": 1.0, "Appliance.Recipe": "widget-a", "Appliance.AlarmCount": 1.0}
	for k, w := range want {
		if got := r.Values[k]; fmt.Sprint(got) != fmt.Sprint(w) || r.Status[k] != "Good" {
			t.Errorf("%s = %v (%T, %s), want %v", k, got, got, r.Status[k], w)
		}
	}
	if fmt.Sprint(r.Values["Appliance.Recipes"]) != "[widget-a widget-b]" || fmt.Sprint(r.Values["Appliance.Alarms"]) != "[warning low_yield cam0: yield 40%]" {
		t.Errorf("recipes %v, alarms %v", r.Values["Appliance.Recipes"], r.Values["Appliance.Alarms"])
	}
	if wantCalls := []string{"Good", "Good", "BadInvalidArgument", "BadNotFound", "BadInvalidArgument"}; !slices.Equal(r.Calls, wantCalls) {
		t.Errorf("calls %v, want %v", r.Calls, wantCalls)
	}
	if !slices.Equal(line.Triggered(), []string{"cam1/P-7"}) || line.Recipe() != "widget-b" || !slices.Equal(line.ChangedBy(), []string{"opcua"}) {
		t.Errorf("line saw triggers %v, recipe %q by %v", line.Triggered(), line.Recipe(), line.ChangedBy())
	}
}

// Without methods allowed (the default) the methods are refused and change
// nothing; the variables still read.
func TestMethodsAreOffByDefault(t *testing.T) {
	line := plctest.New("widget-a")
	endpoint := start(t, Options{}, plc.NewBoard([]string{"cam0"}), line)
	r := client(t, endpoint, []string{"Appliance.MethodsEnabled"}, []call{{Method: MethodTrigger, Args: []string{"cam0", "P-1"}}, {Method: MethodSetRecipe, Args: []string{"widget-b"}}})
	if !slices.Equal(r.Calls, []string{"BadUserAccessDenied", "BadUserAccessDenied"}) || r.Values["Appliance.MethodsEnabled"] != false {
		t.Errorf("calls %v, methods enabled %v; want both refused", r.Calls, r.Values["Appliance.MethodsEnabled"])
	}
	if len(line.Triggered()) != 0 || line.Recipe() != "widget-a" {
		t.Errorf("refused methods changed the line: %v, %q", line.Triggered(), line.Recipe())
	}
}

// Connections that open and never speak do not keep the board from
// taking verdicts, nor a real client from reading it: they hold slots of
// max_connections until the handshake timeout, never the server.
func TestSilentConnectionsDoNotStallVerdicts(t *testing.T) {
	board := plc.NewBoard([]string{"cam0"})
	endpoint := start(t, Options{}, board, plctest.New("widget-a"))
	addr := endpoint[len("opc.tcp://"):]
	for range 8 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer testenv.Close(t, "an idle client connection", c)
	}
	for i := range 1000 {
		board.Record(defects.Verdict{Camera: "cam0", Seq: uint64(i + 1), Outcome: defects.Pass})
	}
	r := client(t, endpoint, []string{"cam0.Count"}, nil)
	if r.Values["cam0.Count"] != "1000" {
		t.Errorf("count %v after 1000 verdicts beside 8 silent connections", r.Values["cam0.Count"])
	}
}
