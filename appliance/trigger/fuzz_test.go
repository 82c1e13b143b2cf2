package trigger

import (
	"errors"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecode checks that no payload crashes the decoder, that every
// rejection carries a contract code and a reason, and that what is accepted
// honours the documented rule. testdata/fuzz/FuzzDecode holds the seed
// corpus.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"part_id":"A123"}`, `{"v":1,"part_id":"x"}`, `{}`, `[]`, `null`, ``, `{"part_id":"a"} `,
		`{"PART_ID":"A"}`, `{"part_id":"A","part_id":"B"}`, `{"part_id":"A\u202e"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := Decode(payload)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Reason == "" {
				t.Fatalf("rejection without a code and reason: %v", err)
			}
			switch te.Code {
			case CodeTooLarge, CodeMalformed, CodeInvalid:
			default:
				t.Fatalf("unexpected code %q", te.Code)
			}
			return
		}
		if len(payload) > MaxSize || got.PartID == "" || len(got.PartID) > MaxPartIDLen || !utf8.ValidString(got.PartID) {
			t.Fatalf("accepted %q as %+v", payload, got)
		}
		for _, r := range got.PartID {
			if !unicode.IsPrint(r) {
				t.Fatalf("accepted %q with the non-printable %U", payload, r)
			}
		}
	})
}
