package app

import (
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/update"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/web"
)

// /metrics counts the update history's outcomes, zeros included, and
// names the running version; the health the gate reads adds up the
// cameras and says whether the broker is configured.
func TestFirmwareMetricsAndHealth(t *testing.T) {
	cfgPath, _ := writeConfig(t, 5)
	cfg, err := config.LoadAppliance(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, _, cancel, done := startApp(t, cfgPath, func(a *App) { a.Version = "1.2.3" })
	defer stopApp(t, cancel, done)
	h := update.OpenHistory(cfg.DataDir)
	for _, o := range []string{update.OutcomeInstalled, update.OutcomeGood, update.OutcomeRefused, update.OutcomeInstalled} {
		if err := h.Append(update.Entry{At: time.Now(), User: "erik", Outcome: o}); err != nil {
			t.Fatal(err)
		}
	}
	var m web.Prom
	Web{App: a}.WriteMetrics(&m)
	for _, want := range []string{
		`linesight_build_info{version="1.2.3"} 1`,
		`linesight_firmware_updates_total{outcome="installed"} 2`,
		`linesight_firmware_updates_total{outcome="good"} 1`,
		`linesight_firmware_updates_total{outcome="refused"} 1`,
		`linesight_firmware_updates_total{outcome="rolled-back"} 0`,
	} {
		if !strings.Contains(m.String(), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, m.String())
		}
	}

	health := UpdateHealth(a)
	var frames uint64
	for _, c := range a.Status().Cameras {
		frames += c.Frames
	}
	if health.State != a.State() || health.Broker != "" || health.Connected || health.Frames > frames {
		t.Errorf("health %+v, status frames %d", health, frames)
	}
}

// The configuration's rules reach the monitor: FAILs in a row raise the
// streak alarm in the dashboard's System and on /metrics.
func TestProcessAlarmsFromTheConfiguration(t *testing.T) {
	cfgPath, _ := writeConfig(t, 5)
	a, _, cancel, done := startApp(t, cfgPath)
	defer stopApp(t, cancel, done)
	cam := a.Config.Cameras[0].ID
	// The line's own parts may come between: FAILs until the streak holds
	// (the camera's few frames end soon), in System and on /metrics alike.
	want := `linesight_process_alarm{camera="` + cam + `",kind="fail_streak"} 1` + "\n"
	testenv.WaitFor(t, "a FAIL streak", func() bool {
		a.processAlarms.Observe(defects.Verdict{Camera: cam, Outcome: defects.Fail, Class: "scratch"})
		var m web.Prom
		Web{App: a}.WriteMetrics(&m)
		for _, al := range (Web{App: a}).System().ProcessAlarms {
			if al.Kind == "fail_streak" && al.Camera == cam {
				return strings.Contains(m.String(), want)
			}
		}
		return false
	})
}
