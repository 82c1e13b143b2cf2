package web

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// The HTTP trigger judges a body as an MQTT trigger payload is judged: exact
// keys, no duplicates, the same part_id rule; an unknown camera is 404.
func TestTriggerValidatesLikeMQTT(t *testing.T) {
	h := newHarness(t)
	op := h.login("olga")
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"PART_ID":"P-1"}`, 400, "malformed"},
		{`{"Part_Id":"P-1"}`, 400, "malformed"},
		{`{"part_id":"P-1","V":2}`, 400, "malformed"},
		{`{"part_id":"P-1","part_id":"P-2"}`, 400, "malformed"},
		{`{"part_id":"P-1","extra":true}`, 400, "malformed"},
		{`{"part_id":"P\u001b[2J-1"}`, 400, "invalid"},
		{`{"part_id":"P\u202e1-P"}`, 400, "invalid"},
		{`{"part_id":"P\t1"}`, 400, "invalid"},
		{`{"part_id":""}`, 400, "invalid"},
		{`{"v":2,"part_id":"P-1"}`, 400, "invalid"},
		{`{"part_id":"P-1","pad":"` + strings.Repeat(" ", 2000) + `"}`, 413, "too_large"},
	} {
		resp, body := op.do("POST", "/api/v1/cameras/cam0/trigger", tc.body)
		var out struct{ Message, Code string }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Errorf("%.40s: answer %q: %v", tc.body, body, err)
		}
		if resp.StatusCode != tc.status || out.Code != tc.code || out.Message == "" {
			t.Errorf("%.40s: got %d %s, want %d with code %s and a message", tc.body, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	if resp, body := op.do("POST", "/api/v1/cameras/cam9/trigger", `{"part_id":"P-1"}`); resp.StatusCode != 404 || !strings.Contains(body, "cam9") {
		t.Errorf("unknown camera: %d %s, want 404 naming it", resp.StatusCode, body)
	}
	op.expect("POST", "/api/v1/cameras/cam0/trigger", `{"v":1,"part_id":"P-ok"}`, 202)
	if got := h.app.triggers; !slices.Equal(got, []string{"cam0/P-ok"}) {
		t.Fatalf("triggers %v: only the valid one may reach the appliance", got)
	}
}

// A refused trigger says which part gets no verdict.
func TestRefusedTriggerNamesThePart(t *testing.T) {
	h := newHarness(t)
	h.app.refuse = errors.New("trigger: the appliance is starting")
	resp, body := h.login("olga").do("POST", "/api/v1/cameras/cam0/trigger", `{"part_id":"P-7"}`)
	var out struct {
		Message, Code, Camera string
		PartID                string `json:"part_id"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("refusal %q: %v", body, err)
	}
	if resp.StatusCode != 409 || out.PartID != "P-7" || out.Camera != "cam0" || out.Code != "refused" || !strings.Contains(out.Message, "starting") {
		t.Fatalf("refusal: %d %s; want 409 naming camera, part and reason", resp.StatusCode, body)
	}
}
