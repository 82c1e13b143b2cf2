// Package plc is what every PLC protocol (MQTT, OPC UA, Modbus) shares: the
// compact numeric outcome codes, the board that keeps each camera's last
// verdict and counters for servers to poll, and the Line the protocols
// command (docs/plc.md).
package plc

import (
	"time"

	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/appliance/trigger"
	"github.com/linesight/linesight/defects"
)

// Code is an outcome as a number, the same in every protocol's registers
// and variables.
type Code uint16

// The outcome codes (docs/plc.md). 0 means no verdict yet, so a PLC that
// reads a fresh box never mistakes it for PASS.
const (
	CodeNone      Code = 0
	CodePass      Code = 1
	CodeFail      Code = 2
	CodeUncertain Code = 3
	CodeMissed    Code = 4
)

// OutcomeCode is the code of an outcome; CodeNone for an unknown one.
func OutcomeCode(o defects.Outcome) Code {
	switch o {
	case defects.Pass:
		return CodePass
	case defects.Fail:
		return CodeFail
	case defects.Uncertain:
		return CodeUncertain
	case defects.Missed:
		return CodeMissed
	}
	return CodeNone
}

// ActionCode is what the line should do as a number: 0 none, 1 pass,
// 2 reject, 3 escalate (hold for a person).
func ActionCode(a defects.Action) Code {
	switch a {
	case defects.ActionPass:
		return 1
	case defects.ActionReject:
		return 2
	case defects.ActionEscalate:
		return 3
	}
	return 0
}

// Line is what a PLC protocol server reads and commands beyond the board:
// the appliance (app.App) implements it.
type Line interface {
	// State is the appliance's lifecycle state ("ready" while inspecting).
	State() string
	// TriggerPart asks for the inspection of a part on a triggered camera.
	TriggerPart(camera string, t trigger.Trigger, arrived time.Time) error
	// Recipe is the active recipe; Recipes all that may be chosen, in
	// order (their index is the Modbus recipe register's value).
	Recipe() string
	Recipes() []string
	// SetRecipe makes name the active recipe from the next batch on and
	// audits the change as by (a user, or the protocol's name).
	SetRecipe(name, by string) error
	// ProcessAlarms are the process alarms that hold now.
	ProcessAlarms() []processalarm.Alarm
}

// StateCode is the appliance's lifecycle state as a number: 0 starting,
// 1 ready (inspecting), 2 stopping, 3 stopped, 4 failed; 0 for an unknown
// one.
func StateCode(state string) Code {
	switch state {
	case "ready":
		return 1
	case "stopping":
		return 2
	case "stopped":
		return 3
	case "failed":
		return 4
	}
	return 0
}
