package web

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/appliance/update"
)

// fakeFirmware is an update.Runner stand-in: one install at a time.
type fakeFirmware struct {
	mu    sync.Mutex
	state update.RunnerState
}

func (f *fakeFirmware) Start(_ context.Context, source, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state.Running {
		return update.ErrInstallRunning
	}
	if strings.HasPrefix(source, "/missing") {
		return errMissing
	}
	f.state = update.RunnerState{Running: true, Source: source, By: user, Progress: update.Progress{Percent: 40, Message: "Copying image"},
		History: []update.Entry{{At: time.Now(), User: "ada", Version: "1.0.0", Slot: "rootfs.0", Outcome: update.OutcomeGood}}}
	return nil
}

func (f *fakeFirmware) State() (update.RunnerState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, nil
}

var errMissing = errors.New("bundle /missing.raucb: no such file or directory")

func TestFirmwareUpdateAPI(t *testing.T) {
	h := newHarness(t)
	h.anon().expect("GET", "/api/v1/system/update", "", 401)
	h.login("olga").expect("GET", "/api/v1/system/update", "", 503) // no firmware updates on this box

	fw := &fakeFirmware{}
	h = newHarness(t, func(o *Options) { o.Firmware = fw })
	h.login("olga").expect("POST", "/api/v1/system/update", `{"source":"/data/a.raucb"}`, 403)
	eng := h.login("erik")
	eng.expect("POST", "/api/v1/system/update", `{}`, 400)
	if resp, body := eng.do("POST", "/api/v1/system/update", `{"source":"/missing.raucb"}`); resp.StatusCode != 400 || !strings.Contains(body, "no such file") {
		t.Errorf("a missing bundle: %d %s", resp.StatusCode, body)
	}
	body := eng.expect("POST", "/api/v1/system/update", `{"source":"/data/a.raucb"}`, 202)
	var st update.RunnerState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if !st.Running || st.By != "erik" || st.Source != "/data/a.raucb" || st.Progress.Percent != 40 || len(st.History) != 1 {
		t.Errorf("started: %s", body)
	}
	if resp, body := h.login("ada").do("POST", "/api/v1/system/update", `{"source":"/data/b.raucb"}`); resp.StatusCode != 409 || !strings.Contains(body, "already being installed") {
		t.Errorf("a second install while one runs: %d %s", resp.StatusCode, body)
	}
	if got := h.login("olga").expect("GET", "/api/v1/system/update", "", 200); !strings.Contains(got, `"running":true`) {
		t.Errorf("state: %s", got)
	}
}

// Two parts judged on one frame raise a warning on their camera, which
// stays up for a while after the last one, then clears.
func TestSharedFrameAlarm(t *testing.T) {
	h := newHarness(t)
	c := h.login("olga")
	for _, tc := range []struct {
		name string
		last time.Time
		want bool
	}{
		{"never", time.Time{}, false},
		{"a minute ago", time.Now().Add(-time.Minute), true},
		{"an hour ago", time.Now().Add(-time.Hour), false},
	} {
		h.app.setSystem(System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "connected", SharedFrames: 3, LastSharedFrame: tc.last}}})
		h.srv.checkAlarms()
		var list []Alarm
		if err := json.Unmarshal([]byte(c.expect("GET", "/api/v1/alarms", "", 200)), &list); err != nil {
			t.Fatal(err)
		}
		got := false
		for _, a := range list {
			if a.Kind == "shared_frames" {
				got = a.Camera == "cam0" && a.Severity == "warning" && strings.Contains(a.Message, "two parts on one frame (3 times")
			}
		}
		if got != tc.want {
			t.Errorf("%s: shared-frame alarm %v, want %v (%+v)", tc.name, got, tc.want, list)
		}
	}
}

// The process alarms the appliance reports are alarms like the others:
// listed, with their severity, on their camera.
func TestProcessAlarmsAreListed(t *testing.T) {
	h := newHarness(t)
	h.app.setSystem(System{State: "ready", Cameras: []CameraInfo{{ID: "cam0", State: "connected"}},
		ProcessAlarms: []processalarm.Alarm{{Kind: "fail_streak", Severity: "critical", Camera: "cam0", Message: "camera cam0: the last 5 parts in a row FAILed"}}})
	h.srv.checkAlarms()
	var list []Alarm
	if err := json.Unmarshal([]byte(h.login("olga").expect("GET", "/api/v1/alarms", "", 200)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "fail_streak:cam0" || list[0].Severity != "critical" || !strings.Contains(list[0].Message, "5 parts in a row") {
		t.Errorf("alarms %+v", list)
	}
}
