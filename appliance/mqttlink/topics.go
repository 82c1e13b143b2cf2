package mqttlink

import (
	"strings"

	"github.com/linesight/linesight/appliance/trigger"
)

// ContractVersion is the version of docs/mqtt.md the payloads implement;
// every message carries it as "v", and a trigger may name it.
const ContractVersion = trigger.Version

// Topics names the topics of one line.
type Topics struct{ Line string }

func (t Topics) root() string { return "linesight/" + t.Line }

// Status is the retained online/offline topic.
func (t Topics) Status() string { return t.root() + "/status" }

// Stats is the periodic counters topic.
func (t Topics) Stats() string { return t.root() + "/stats" }

// Alarms is the retained topic of the process alarms that hold.
func (t Topics) Alarms() string { return t.root() + "/alarms" }

// ShiftReport is the retained topic of the last shift's report.
func (t Topics) ShiftReport() string { return t.root() + "/shift_report" }

// RecipeSet is where a PLC sends a recipe change.
func (t Topics) RecipeSet() string { return t.root() + "/recipe/set" }

// LineError is where errors that concern no one camera go (a refused
// recipe change).
func (t Topics) LineError() string { return t.root() + "/error" }

// Verdict is where a camera's verdicts go.
func (t Topics) Verdict(camera string) string { return t.root() + "/" + camera + "/verdict" }

// Error is where a camera's trigger errors go.
func (t Topics) Error(camera string) string { return t.root() + "/" + camera + "/error" }

// Trigger is a camera's trigger topic.
func (t Topics) Trigger(camera string) string { return t.root() + "/" + camera + "/trigger" }

// TriggerFilter subscribes to the triggers of every camera.
func (t Topics) TriggerFilter() string { return t.root() + "/+/trigger" }

// TriggerCamera returns the camera a trigger topic names.
func (t Topics) TriggerCamera(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, t.root()+"/")
	if !ok {
		return "", false
	}
	camera, ok := strings.CutSuffix(rest, "/trigger")
	if !ok || camera == "" || strings.Contains(camera, "/") {
		return "", false
	}
	return camera, true
}
