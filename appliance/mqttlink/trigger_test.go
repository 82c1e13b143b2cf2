package mqttlink

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeTrigger(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string // part id, when valid
		code    string // error code, when not
	}{
		{"plain", `{"part_id":"A123"}`, "A123", ""},
		{"with version", `{"v":1,"part_id":"A-1/2"}`, "A-1/2", ""},
		{"whitespace", " \n{ \"part_id\" : \"x\" }\r\n", "x", ""},
		{"unicode", `{"part_id":"Teil-ä"}`, "Teil-ä", ""},
		{"longest", `{"part_id":"` + strings.Repeat("p", MaxPartIDLen) + `"}`, strings.Repeat("p", MaxPartIDLen), ""},
		{"empty payload", ``, "", CodeMalformed},
		{"not json", `A123`, "", CodeMalformed},
		{"array", `["A123"]`, "", CodeMalformed},
		{"string", `"A123"`, "", CodeMalformed},
		{"null", `null`, "", CodeInvalid},
		{"truncated", `{"part_id":"A1`, "", CodeMalformed},
		{"number id", `{"part_id":123}`, "", CodeMalformed},
		{"unknown key", `{"part_id":"A","partid":"B"}`, "", CodeMalformed},
		{"trailing data", `{"part_id":"A"}{"part_id":"B"}`, "", CodeMalformed},
		{"trailing garbage", `{"part_id":"A"} x`, "", CodeMalformed},
		{"bad utf8", "{\"part_id\":\"\xff\"}", "", CodeMalformed},
		{"missing id", `{}`, "", CodeInvalid},
		{"null id", `{"part_id":null}`, "", CodeInvalid},
		{"empty id", `{"part_id":""}`, "", CodeInvalid},
		{"control char", `{"part_id":"A\u0000B"}`, "", CodeInvalid},
		{"newline", `{"part_id":"A\nB"}`, "", CodeInvalid},
		{"long id", `{"part_id":"` + strings.Repeat("p", MaxPartIDLen+1) + `"}`, "", CodeInvalid},
		{"other version", `{"v":2,"part_id":"A"}`, "", CodeInvalid},
		{"too large", `{"part_id":"A","x":"` + strings.Repeat(" ", MaxTriggerSize) + `"}`, "", CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTrigger([]byte(tt.payload))
			if tt.code == "" {
				if err != nil || got.PartID != tt.want {
					t.Fatalf("DecodeTrigger(%q) = %+v, %v; want part %q", tt.payload, got, err, tt.want)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != tt.code {
				t.Fatalf("DecodeTrigger(%q) = %+v, %v; want code %s", tt.payload, got, err, tt.code)
			}
			if de.Reason == "" {
				t.Fatalf("DecodeTrigger(%q): no reason", tt.payload)
			}
		})
	}
}

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
