package mqttlink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// Trigger limits.
const (
	MaxTriggerSize = 1024 // bytes of payload
	MaxPartIDLen   = 128  // bytes of part_id
)

// Trigger is a decoded trigger message.
type Trigger struct {
	PartID string
}

// DecodeError says why a trigger payload was rejected; Code is one of the
// error codes of the contract.
type DecodeError struct {
	Code   string
	Reason string
}

func (e *DecodeError) Error() string { return e.Code + ": " + e.Reason }

type triggerPayload struct {
	V      *int    `json:"v"`
	PartID *string `json:"part_id"`
}

// DecodeTrigger reads a trigger payload: a JSON object with a required
// non-empty part_id of printable characters and an optional "v" that must
// be the contract version. Anything else, unknown keys included, is
// rejected: a typo in a PLC program should fail loudly, not inspect a part
// under the wrong name.
func DecodeTrigger(payload []byte) (Trigger, error) {
	if len(payload) > MaxTriggerSize {
		return Trigger{}, &DecodeError{CodeTooLarge, fmt.Sprintf("payload is %d bytes; the limit is %d", len(payload), MaxTriggerSize)}
	}
	if !utf8.Valid(payload) {
		return Trigger{}, &DecodeError{CodeMalformed, "payload is not UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var p triggerPayload
	if err := dec.Decode(&p); err != nil {
		return Trigger{}, &DecodeError{CodeMalformed, "want a JSON object like {\"part_id\":\"A123\"}: " + jsonReason(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Trigger{}, &DecodeError{CodeMalformed, "data after the JSON object"}
	}
	if p.V != nil && *p.V != ContractVersion {
		return Trigger{}, &DecodeError{CodeInvalid, fmt.Sprintf("v is %d; this appliance speaks contract v%d", *p.V, ContractVersion)}
	}
	if p.PartID == nil {
		return Trigger{}, &DecodeError{CodeInvalid, "part_id is missing"}
	}
	id := *p.PartID
	switch {
	case id == "":
		return Trigger{}, &DecodeError{CodeInvalid, "part_id is empty"}
	case len(id) > MaxPartIDLen:
		return Trigger{}, &DecodeError{CodeInvalid, fmt.Sprintf("part_id is %d bytes; the limit is %d", len(id), MaxPartIDLen)}
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return Trigger{}, &DecodeError{CodeInvalid, fmt.Sprintf("part_id has the non-printable character %U", r)}
		}
	}
	return Trigger{PartID: id}, nil
}

// jsonReason shortens encoding/json's errors to what a PLC programmer needs.
func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "the payload is a JSON " + typeErr.Value
		}
		return fmt.Sprintf("%s must be a %s, not a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	}
	if errors.Is(err, io.EOF) {
		return "the payload is empty"
	}
	return err.Error()
}
