// Package trigger reads a request to inspect a part. It holds the one
// decoder and the one part_id rule behind every way a part is triggered:
// the MQTT trigger topic, the HTTP API and so the `linesight trigger`
// command (docs/mqtt.md, docs/api.md).
package trigger

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Limits and the contract version a trigger may name.
const (
	MaxSize      = 1024 // bytes of payload
	MaxPartIDLen = 128  // bytes of part_id
	Version      = 1
)

// Rejection codes, as the MQTT error message and the HTTP answer name them.
const (
	CodeTooLarge  = "too_large" // payload over MaxSize
	CodeMalformed = "malformed" // not a JSON object of the documented shape
	CodeInvalid   = "invalid"   // well-formed but a value is not acceptable
)

// Trigger is a decoded trigger.
type Trigger struct {
	PartID string
	// At is the PLC's own time of the part (when it passed the sensor);
	// zero when the trigger gives none. With it the appliance judges the
	// frame captured nearest to it, not the first after the trigger came.
	At time.Time
}

// Error says why a trigger was rejected; Code is one of the codes above.
type Error struct {
	Code   string
	Reason string
}

func (e *Error) Error() string { return e.Code + ": " + e.Reason }

// Payload is the JSON object a trigger is: these keys, exactly as written.
type Payload struct {
	V      *int           `json:"v"`
	PartID *string        `json:"part_id"`
	At     jsontext.Value `json:"at"`
}

// Decode reads a trigger payload: one JSON object with a required part_id
// (see CheckPartID), an optional "at" (ParseAt) and an optional "v" that
// must be Version; when only "at" is refused, the Trigger returned with
// the error names the part. Keys match
// exactly (no case folding), a key given twice is refused rather than one
// of its values silently winning, and unknown keys are refused: a typo in a
// PLC program should fail loudly, not inspect a part under the wrong name.
func Decode(payload []byte) (Trigger, error) {
	if len(payload) > MaxSize {
		return Trigger{}, &Error{CodeTooLarge, fmt.Sprintf("payload is %d bytes; the limit is %d", len(payload), MaxSize)}
	}
	if !utf8.Valid(payload) {
		return Trigger{}, &Error{CodeMalformed, "payload is not UTF-8"}
	}
	if len(strings.TrimSpace(string(payload))) == 0 {
		return Trigger{}, &Error{CodeMalformed, `the payload is empty; want a JSON object like {"part_id":"A123"}`}
	}
	// The v2 decoder's defaults already match names exactly and refuse
	// duplicate names, invalid UTF-8 and trailing data.
	var p Payload
	if err := json.Unmarshal(payload, &p, json.RejectUnknownMembers(true)); err != nil {
		return Trigger{}, &Error{CodeMalformed, `want a JSON object like {"part_id":"A123"}: ` + jsonReason(err)}
	}
	if p.V != nil && *p.V != Version {
		return Trigger{}, &Error{CodeInvalid, fmt.Sprintf("v is %d; this appliance speaks contract v%d", *p.V, Version)}
	}
	if p.PartID == nil {
		return Trigger{}, &Error{CodeInvalid, "part_id is missing"}
	}
	if err := CheckPartID(*p.PartID); err != nil {
		return Trigger{}, err
	}
	t := Trigger{PartID: *p.PartID}
	if len(p.At) > 0 {
		at, err := ParseAt(p.At)
		if err != nil {
			return t, err // the part is named, for the answer
		}
		t.At = at
	}
	return t, nil
}

// ParseAt reads a trigger's "at": an RFC 3339 time string with a zone
// (fractions of a second kept, e.g. "2026-12-03T10:15:30.125Z") or a whole
// number of milliseconds since the Unix epoch (1796292930125).
func ParseAt(raw jsontext.Value) (time.Time, error) {
	switch raw.Kind() {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, &Error{CodeInvalid, "at: " + err.Error()}
		}
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, &Error{CodeInvalid, fmt.Sprintf("at %q is not an RFC 3339 time such as 2026-12-03T10:15:30.125Z", s)}
		}
		return at, nil
	case '0':
		var ms int64
		if err := json.Unmarshal(raw, &ms); err != nil || ms <= 0 {
			return time.Time{}, &Error{CodeInvalid, fmt.Sprintf("at %s is not a positive whole number of milliseconds since 1970-01-01T00:00:00Z", raw)}
		}
		return time.UnixMilli(ms), nil
	}
	return time.Time{}, &Error{CodeInvalid, "at must be an RFC 3339 time string or epoch milliseconds, not a JSON " + kindName(raw.Kind())}
}

// CheckPartID is the rule for a part id: 1 to MaxPartIDLen bytes of
// printable UTF-8. Control and format characters (tab, ESC, bidi overrides
// such as U+202E) are refused: the id is shown to operators and written to
// CSV exports and logs, where they would hide or disguise what it says.
func CheckPartID(id string) error {
	switch {
	case id == "":
		return &Error{CodeInvalid, "part_id is empty"}
	case len(id) > MaxPartIDLen:
		return &Error{CodeInvalid, fmt.Sprintf("part_id is %d bytes; the limit is %d", len(id), MaxPartIDLen)}
	case !utf8.ValidString(id):
		return &Error{CodeInvalid, "part_id is not UTF-8"}
	}
	for i, r := range id {
		if !unicode.IsPrint(r) {
			return &Error{CodeInvalid, fmt.Sprintf("part_id has the non-printable character %U at byte %d", r, i)}
		}
	}
	return nil
}

// jsonReason shortens the decoder's errors to what a PLC programmer needs.
func jsonReason(err error) string {
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		key := strings.TrimPrefix(string(sem.JSONPointer), "/")
		switch {
		case errors.Is(sem.Err, json.ErrUnknownName):
			return fmt.Sprintf("unknown key %q (the keys are part_id, at and v, in lower case)", sem.JSONPointer.LastToken())
		case key == "" && sem.JSONKind != 0:
			return "the payload is a JSON " + kindName(sem.JSONKind)
		case key != "" && sem.JSONKind != 0:
			return fmt.Sprintf("%s must be a %s, not a JSON %s", key, typeName(key), kindName(sem.JSONKind))
		}
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName) {
		return fmt.Sprintf("the key %q appears more than once", syn.JSONPointer.LastToken())
	}
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "jsontext: "), "json: ")
}

func typeName(key string) string {
	if key == "v" {
		return "whole number"
	}
	return "string"
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}
