package app

import (
	"reflect"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/health"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/mqttlink"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/pipeline/capture"
)

// Every payload is a projection of one Status: a field set there shows,
// unchanged, in the dashboard's health summary, the MQTT snapshot and the
// update gate's health.
func TestStatusProjectionsAgree(t *testing.T) {
	started := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	alarms := []processalarm.Alarm{{Kind: processalarm.KindFailStreak, Severity: "critical", Camera: "cam1", Message: "5 FAIL in a row"}}
	js := journal.Stats{Written: 9, OutboxExpired: 3}
	st := Status{
		Line: "L4", Version: "2.1.0", ConfigHash: "cfg#", StartedAt: started, State: StateReady, Error: "",
		Degraded: []string{"journal cannot commit"}, Warmup: 1500 * time.Millisecond,
		Model:   ModelStatus{Bundle: "b", Variant: "int8", Digest: "sha:1", Provider: "cpu", Synthetic: true},
		Defects: ReloadStatus{DefectsHash: "def#"}, Recipe: "blue", Recipes: []string{"blue", "red"},
		Cameras: []CameraStatus{
			{ID: "cam0", Mode: "triggered", Capture: capture.CameraStatus{State: "connected", FPS: 12}, Frames: 100, Inspected: 40, Triggers: 41, Missed: 1, SharedFrames: 2, Dropped: 3},
			{ID: "cam1", Mode: "free", Capture: capture.CameraStatus{State: "reconnecting", LastError: "eof"}, Frames: 7, Inspected: 7},
		},
		Alarms:  alarms,
		Broker:  health.BrokerInfo{Configured: true, Connected: true, Published: 38},
		Outbox:  health.OutboxInfo{Pending: 2, Limit: 100, Expired: 3, Dropped: 4},
		Journal: &js, JournalQuarantined: []journal.Quarantine{{Path: "journal.db.damaged"}},
		Disk: health.DiskInfo{Path: "/data", TotalBytes: 10, FreeBytes: 4, UsedFraction: 0.6},
	}

	sys := st.System()
	if sys.Line != st.Line || sys.Version != st.Version || sys.ConfigHash != st.ConfigHash || !sys.StartedAt.Equal(started) ||
		sys.State != st.State || !reflect.DeepEqual(sys.Degraded, st.Degraded) || sys.Warmup != (health.Warmup{State: WarmupReady, Duration: st.Warmup}) {
		t.Errorf("System's head differs from the status: %+v", sys)
	}
	if sys.Model != (health.ModelInfo{Bundle: "b", Variant: "int8", Digest: "sha:1", Provider: "cpu", Synthetic: true}) ||
		sys.Defects.DefectsHash != "def#" || sys.Broker != st.Broker || sys.Outbox != st.Outbox || sys.Disk != st.Disk ||
		!reflect.DeepEqual(sys.ProcessAlarms, alarms) || sys.Journal != js || len(sys.JournalQuarantined) != 1 {
		t.Errorf("System's model, links or alarms differ from the status: %+v", sys)
	}
	wantCams := []health.CameraInfo{
		{ID: "cam0", Mode: "triggered", State: "connected", FPS: 12, SharedFrames: 2},
		{ID: "cam1", Mode: "free", State: "reconnecting", LastError: "eof"},
	}
	if !reflect.DeepEqual(sys.Cameras, wantCams) {
		t.Errorf("System's cameras %+v, want %+v", sys.Cameras, wantCams)
	}

	snap := st.mqttSnapshot()
	if snap.State != st.State || snap.Warmup != sys.Warmup.State || !snap.StartedAt.Equal(started) || snap.DefectsHash != "def#" ||
		snap.Model != (mqttlink.ModelInfo{Digest: "sha:1", Variant: "int8", Provider: "cpu"}) || !reflect.DeepEqual(snap.Degraded, st.Degraded) ||
		!reflect.DeepEqual(snap.Alarms, alarms) || snap.Recipe != "blue" || !reflect.DeepEqual(snap.Recipes, st.Recipes) ||
		snap.OutboxDropped != 4 || snap.OutboxExpired != 3 {
		t.Errorf("MQTT snapshot differs from the status: %+v", snap)
	}
	wantCounters := []mqttlink.CameraCounters{
		{Camera: "cam0", Triggers: 41, Inspected: 40, MissedTriggers: 1, SharedFrames: 2, Dropped: 3},
		{Camera: "cam1", Inspected: 7},
	}
	if !reflect.DeepEqual(snap.Cameras, wantCounters) {
		t.Errorf("MQTT counters %+v, want %+v", snap.Cameras, wantCounters)
	}

	if h := st.UpdateHealth("tcp://broker:1883"); h.State != StateReady || h.Frames != 107 || h.Inspected != 47 || !h.Connected || h.Broker != "tcp://broker:1883" {
		t.Errorf("update health %+v", h)
	}

	// The warm-up word is the same in every payload, for every state.
	for _, state := range []string{StateStarting, StateReady, StateStopping, StateStopped, StateFailed} {
		st := Status{State: state, Error: "boom"}
		if sys, snap := st.System(), st.mqttSnapshot(); sys.Warmup.State != snap.Warmup || sys.State != snap.State || sys.Error != snap.Error {
			t.Errorf("state %s: System %+v, MQTT %+v", state, sys.Warmup, snap)
		}
	}
}

type fakeBroker struct{ published uint64 }

func (b fakeBroker) Connected() bool   { return true }
func (b fakeBroker) Published() uint64 { return b.published }

// The running appliance's status holds what it was given: the journal and
// the link, and the configured cameras even before it inspects.
func TestStatusGathersTheLinks(t *testing.T) {
	cfgPath, _ := writeConfig(t, 0)
	a, _, cancel, done := startApp(t, cfgPath, func(a *App) {
		a.Version, a.Broker = "9.9.9", fakeBroker{published: 17}
		if st := a.Status(); st.State != StateStarting || len(st.Cameras) != len(a.Config.Cameras) || st.Cameras[0].ID != a.Config.Cameras[0].ID {
			t.Errorf("before running: %+v, want the configured cameras", st.Cameras)
		}
	})
	defer stopApp(t, cancel, done)
	st := a.Status()
	if st.Version != "9.9.9" || !st.Broker.Connected || st.Broker.Published != 17 || st.ConfigHash != a.Config.Hash() || st.Journal != nil {
		t.Errorf("status %+v", st)
	}
	if st.Disk.Path != a.Config.DataDir || st.Disk.TotalBytes == 0 {
		t.Errorf("disk %+v", st.Disk)
	}
}

// The status may be read at any moment, also while the appliance stops and
// releases its model: the PLC link and the dashboard keep asking.
func TestStatusWhileStopping(t *testing.T) {
	cfgPath, _ := writeConfig(t, 0)
	a, _, cancel, done := startApp(t, cfgPath)
	stop := make(chan struct{})
	reads := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				reads <- n
				return
			default:
				_ = a.Status().System()
				a.ProcessAlarms()
				n++
			}
		}
	}()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(stop)
	if n := <-reads; n == 0 {
		t.Error("no status read while stopping")
	}
	if st := a.Status(); st.State != StateStopped || st.Model.Digest != "" {
		t.Errorf("after Run: state %s, model %+v", st.State, st.Model)
	}
}
