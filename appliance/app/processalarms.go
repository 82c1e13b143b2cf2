package app

import (
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/processalarm"
)

// processRules are the configuration's process-alarm rules.
func processRules(a config.Alarms) processalarm.Rules {
	return processalarm.Rules{
		YieldBelow: a.YieldBelow, YieldWindow: a.YieldWindow, ConsecutiveFails: a.ConsecutiveFails,
		ClassShareFactor: a.ClassShareFactor, ClassShareWindow: a.ClassShareWindow, ClassShareBaseline: a.ClassShareBaseline,
		NoPartsAfter: a.NoPartsAfter, FPSBelow: a.FPSBelow,
	}
}

// ProcessAlarms are the process alarms that hold now (docs/alarms.md); none
// before the appliance inspects. The PLC links poll it: it reads the
// cameras only, not the whole Status, whose Alarms are the same rule's.
func (a *App) ProcessAlarms() []processalarm.Alarm {
	if a.State() != StateReady {
		return nil
	}
	return a.processAlarmsOf(a.cameraStatus())
}

// processAlarmsOf are the process alarms that hold for the cameras' state.
func (a *App) processAlarmsOf(cameras []CameraStatus) []processalarm.Alarm {
	byID := map[string]CameraStatus{}
	for _, c := range cameras {
		byID[c.ID] = c
	}
	var cams []processalarm.CameraState
	for _, c := range a.Config.Cameras {
		cs := byID[c.ID]
		cams = append(cams, processalarm.CameraState{ID: c.ID, Triggered: c.Mode == config.ModeTriggered,
			Connected: cs.Capture.State == "connected", FPS: cs.Capture.FPS, SourceFPS: c.Source.FPS})
	}
	return a.processAlarms.Active(cams)
}
