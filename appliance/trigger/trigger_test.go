package trigger

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string // part id, when valid
		code    string // error code, when not
		reason  string // part of the reason, when not
	}{
		{"plain", `{"part_id":"A123"}`, "A123", "", ""},
		{"with version", `{"v":1,"part_id":"A-1/2"}`, "A-1/2", "", ""},
		{"whitespace", " \n{ \"part_id\" : \"x\" }\r\n", "x", "", ""},
		{"unicode", `{"part_id":"Teil-ä"}`, "Teil-ä", "", ""},
		{"inner space", `{"part_id":"A 1"}`, "A 1", "", ""},
		{"longest", `{"part_id":"` + strings.Repeat("p", MaxPartIDLen) + `"}`, strings.Repeat("p", MaxPartIDLen), "", ""},
		{"empty payload", ``, "", CodeMalformed, ""},
		{"not json", `A123`, "", CodeMalformed, ""},
		{"array", `["A123"]`, "", CodeMalformed, "JSON array"},
		{"string", `"A123"`, "", CodeMalformed, "JSON string"},
		{"null", `null`, "", CodeInvalid, "missing"},
		{"truncated", `{"part_id":"A1`, "", CodeMalformed, ""},
		{"number id", `{"part_id":123}`, "", CodeMalformed, "part_id must be a string, not a JSON number"},
		{"fraction v", `{"v":1.5,"part_id":"A"}`, "", CodeMalformed, "v must be a whole number"},
		{"unknown key", `{"part_id":"A","partid":"B"}`, "", CodeMalformed, `unknown key "partid"`},
		{"upper case key", `{"PART_ID":"A"}`, "", CodeMalformed, `unknown key "PART_ID"`},
		{"mixed case key", `{"Part_Id":"A"}`, "", CodeMalformed, `unknown key "Part_Id"`},
		{"upper case v", `{"V":2,"part_id":"A"}`, "", CodeMalformed, `unknown key "V"`},
		{"duplicate key", `{"part_id":"A","part_id":"B"}`, "", CodeMalformed, `"part_id" appears more than once`},
		{"duplicate v", `{"v":1,"part_id":"A","v":1}`, "", CodeMalformed, `"v" appears more than once`},
		{"trailing data", `{"part_id":"A"}{"part_id":"B"}`, "", CodeMalformed, ""},
		{"trailing garbage", `{"part_id":"A"} x`, "", CodeMalformed, ""},
		{"bad utf8", "{\"part_id\":\"\xff\"}", "", CodeMalformed, "UTF-8"},
		{"lone surrogate", `{"part_id":"A\ud800"}`, "", CodeMalformed, ""},
		{"missing id", `{}`, "", CodeInvalid, "missing"},
		{"null id", `{"part_id":null}`, "", CodeInvalid, "missing"},
		{"empty id", `{"part_id":""}`, "", CodeInvalid, "empty"},
		{"control char", `{"part_id":"A\u0000B"}`, "", CodeInvalid, "U+0000"},
		{"newline", `{"part_id":"A\nB"}`, "", CodeInvalid, "U+000A"},
		{"tab", `{"part_id":"A\tB"}`, "", CodeInvalid, "U+0009"},
		{"escape", `{"part_id":"A\u001b[31mB"}`, "", CodeInvalid, "U+001B"},
		{"bidi override", `{"part_id":"A\u202eB"}`, "", CodeInvalid, "U+202E"},
		{"long id", `{"part_id":"` + strings.Repeat("p", MaxPartIDLen+1) + `"}`, "", CodeInvalid, "limit"},
		{"other version", `{"v":2,"part_id":"A"}`, "", CodeInvalid, "v is 2"},
		{"too large", `{"part_id":"A","x":"` + strings.Repeat(" ", MaxSize) + `"}`, "", CodeTooLarge, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.payload))
			if tt.code == "" {
				if err != nil || got.PartID != tt.want {
					t.Fatalf("Decode(%q) = %+v, %v; want part %q", tt.payload, got, err, tt.want)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Code != tt.code {
				t.Fatalf("Decode(%q) = %+v, %v; want code %s", tt.payload, got, err, tt.code)
			}
			if te.Reason == "" || !strings.Contains(te.Reason, tt.reason) {
				t.Fatalf("Decode(%q): reason %q, want it to say %q", tt.payload, te.Reason, tt.reason)
			}
		})
	}
}

// CheckPartID is the rule Decode applies, so a part id from any other path
// (the HTTP API) is judged the same.
func TestCheckPartIDAgreesWithDecode(t *testing.T) {
	for _, id := range []string{"A1", "", "A\tB", "A\x1bB", "A\u202eB", "A\u200bB", strings.Repeat("x", MaxPartIDLen+1), "\xff"} {
		_, decErr := Decode([]byte(`{"part_id":"` + strings.ReplaceAll(id, "\t", `\t`) + `"}`))
		checkErr := CheckPartID(id)
		if (checkErr == nil) != (decErr == nil) && id != "\xff" { // invalid UTF-8 is malformed JSON before it is a bad id
			t.Errorf("part id %q: CheckPartID %v, Decode %v", id, checkErr, decErr)
		}
		if id != "A1" && checkErr == nil {
			t.Errorf("part id %q accepted", id)
		}
	}
}

// "at" is the PLC's time: RFC 3339 with milliseconds (any zone) or epoch
// milliseconds; anything else is refused saying what is accepted.
func TestDecodeAt(t *testing.T) {
	want := time.Date(2026, 12, 3, 10, 15, 30, 125e6, time.UTC)
	for _, payload := range []string{
		`{"part_id":"A1","at":"2026-12-03T10:15:30.125Z"}`,
		`{"part_id":"A1","at":"2026-12-03T11:15:30.125+01:00"}`,
		`{"part_id":"A1","at":1796292930125}`,
	} {
		got, err := Decode([]byte(payload))
		if err != nil || got.PartID != "A1" || !got.At.Equal(want) {
			t.Errorf("%s: %+v %v, want at %v", payload, got, err, want)
		}
	}
	if got, err := Decode([]byte(`{"part_id":"A1"}`)); err != nil || !got.At.IsZero() {
		t.Errorf("no at: %+v %v", got, err)
	}
	for payload, says := range map[string]string{
		`{"part_id":"A1","at":"10:15:30"}`:            "not an RFC 3339 time",
		`{"part_id":"A1","at":"2026-12-03 10:15:30"}`: "not an RFC 3339 time",
		`{"part_id":"A1","at":-5}`:                    "positive whole number of milliseconds",
		`{"part_id":"A1","at":1.5}`:                   "positive whole number of milliseconds",
		`{"part_id":"A1","at":true}`:                  "not a JSON boolean",
		`{"part_id":"A1","at":null}`:                  "not a JSON null",
	} {
		_, err := Decode([]byte(payload))
		var te *Error
		if !errors.As(err, &te) || te.Code != CodeInvalid || !strings.Contains(te.Reason, says) {
			t.Errorf("%s: %v, want invalid saying %q", payload, err, says)
		}
	}
}
