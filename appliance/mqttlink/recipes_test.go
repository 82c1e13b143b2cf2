package mqttlink

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A PLC changes the recipe on linesight/<line>/recipe/set: a good command
// reaches the appliance as by "mqtt" and shows in the retained status; bad
// ones are answered on the line's error topic and change nothing.
func TestRecipeChangeFromThePLC(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/#", nil)
	ob, app := newOutbox(), newFakeApp()
	app.set(func(s *Snapshot) { s.Recipe, s.Recipes = "bracket-a", []string{"bracket-a", "washer-b"} })
	l, _ := runLink(t, testOptions(b.URL()), ob, app)
	awaitConnected(t, l)

	bad := []struct{ payload, code string }{
		{`not json`, CodeMalformed},
		{`{"recipe":"washer-b","extra":1}`, CodeMalformed},
		{`{"v":7,"recipe":"washer-b"}`, CodeInvalid},
		{`{"v":1,"recipe":" "}`, CodeInvalid},
		{`{"v":1,"recipe":"` + strings.Repeat("x", 2000) + `"}`, CodeTooLarge},
		{`{"v":1,"recipe":"nope"}`, CodeRefused},
	}
	for _, c := range bad {
		plc.publish("linesight/line1/recipe/set", []byte(c.payload))
	}
	msgs := plc.await("recipe errors", "line1/error", func(m []received) bool { return len(m) >= len(bad) })
	for i, c := range bad {
		var e ErrorMessage
		if err := json.Unmarshal(msgs[i].payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Code != c.code || e.Reason == "" || e.Camera != "" || e.Size != len(c.payload) {
			t.Errorf("payload %.40q: error %s; want code %s", c.payload, msgs[i].payload, c.code)
		}
	}
	if got := app.Snapshot().Recipe; got != "bracket-a" {
		t.Fatalf("bad commands changed the recipe to %q", got)
	}

	plc.publish("linesight/line1/recipe/set", []byte(`{"v":1,"recipe":"washer-b"}`))
	plc.await("status with the new recipe", "line1/status", func(m []received) bool {
		var s StatusMessage
		return len(m) > 0 && json.Unmarshal(m[len(m)-1].payload, &s) == nil && s.Recipe == "washer-b" &&
			slices.Equal(s.Recipes, []string{"bracket-a", "washer-b"})
	})
	app.mu.Lock()
	by := slices.Clone(app.recipeBy)
	app.mu.Unlock()
	if !slices.Equal(by, []string{"mqtt"}) {
		t.Errorf("recipe changed by %v, want once by mqtt", by)
	}
}

// A shift report handed to the link is published retained, and a newer
// one replaces it; a PLC that subscribes later gets the last.
func TestShiftReportIsPublishedRetained(t *testing.T) {
	b := startBroker(t, nil)
	ob, app := newOutbox(), newFakeApp()
	l, _ := runLink(t, testOptions(b.URL()), ob, app)
	awaitConnected(t, l)
	l.SetShiftReport([]byte(`{"line":"line1","start":"2026-12-03T06:00:00Z","total":{"total":12}}`))
	l.SetShiftReport([]byte(`{"line":"line1","start":"2026-12-03T14:00:00Z","total":{"total":7}}`))
	latest := func(m []received) bool {
		return len(m) > 0 && strings.Contains(string(m[len(m)-1].payload), `T14:00:00Z`)
	}
	subscribe(t, b.URL(), "plc", "linesight/line1/shift_report", nil).await("the shift report", "/shift_report", latest)
	late := subscribe(t, b.URL(), "late", "linesight/line1/shift_report", nil)
	if got := late.await("the retained shift report", "/shift_report", latest); !got[0].retained || len(got) != 1 {
		t.Errorf("a late subscriber got %d messages, the first retained: %v; want the last report, retained", len(got), got[0].retained)
	}
}
