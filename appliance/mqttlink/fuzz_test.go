package mqttlink

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeTrigger checks that no payload crashes the decoder, that every
// rejection carries a contract code and a reason, and that what is accepted
// honours the documented limits. testdata/fuzz/FuzzDecodeTrigger holds the
// seed corpus.
func FuzzDecodeTrigger(f *testing.F) {
	for _, s := range []string{`{"part_id":"A123"}`, `{"v":1,"part_id":"x"}`, `{}`, `[]`, `null`, ``, `{"part_id":"a"} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := DecodeTrigger(payload)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("rejection without a code and reason: %v", err)
			}
			switch de.Code {
			case CodeTooLarge, CodeMalformed, CodeInvalid:
			default:
				t.Fatalf("unexpected code %q", de.Code)
			}
			return
		}
		if len(payload) > MaxTriggerSize || got.PartID == "" || len(got.PartID) > MaxPartIDLen || !utf8.ValidString(got.PartID) {
			t.Fatalf("accepted %q as %+v", payload, got)
		}
	})
}
