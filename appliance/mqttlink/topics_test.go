package mqttlink

import "testing"

func TestTriggerCamera(t *testing.T) {
	tp := Topics{Line: "l1"}
	for topic, want := range map[string]string{
		"linesight/l1/cam0/trigger":  "cam0",
		"linesight/l1/trigger":       "",
		"linesight/l2/cam0/trigger":  "",
		"linesight/l1/a/b/trigger":   "",
		"linesight/l1/cam0/triggerx": "",
		"linesight/l1//trigger":      "",
	} {
		got, ok := tp.TriggerCamera(topic)
		if got != want || ok != (want != "") {
			t.Errorf("TriggerCamera(%q) = %q, %v; want %q", topic, got, ok, want)
		}
	}
}
