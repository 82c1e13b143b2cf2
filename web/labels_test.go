package web

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

// labelFixture journals a PASS (1), a FAIL scratch (2), an UNCERTAIN (3)
// and a MISSED (4) verdict of cam0, scored good/scratch.
func labelFixture(h *harness) {
	now := time.Now()
	for i, row := range []struct {
		o             defects.Outcome
		class         string
		good, scratch float64
	}{{defects.Pass, "good", 0.92, 0.08}, {defects.Fail, "scratch", 0.2, 0.8}, {defects.Uncertain, "scratch", 0.45, 0.55}, {defects.Missed, "", 0, 0}} {
		v := verdict(uint64(i+1), row.o, row.class, now.Add(time.Duration(i-10)*time.Minute))
		if row.o != defects.Missed {
			v.Scores = []defects.ClassScore{{Class: "good", Score: row.good}, {Class: "scratch", Score: row.scratch}}
		}
		h.record(v)
	}
}

func TestLabelAPIRolesValidationAndAudit(t *testing.T) {
	h := newHarness(t)
	labelFixture(h)

	h.anon().expect("PUT", "/api/v1/records/2/label", `{"correct":false,"class":"good"}`, 401)
	h.login("olga").expect("PUT", "/api/v1/records/2/label", `{"correct":false,"class":"good"}`, 403)
	h.login("olga").expect("DELETE", "/api/v1/records/2/label", "", 403)

	eng := h.login("erik")
	body := eng.expect("PUT", "/api/v1/records/2/label", `{"correct":false,"class":"good"}`, 200)
	var rec struct {
		ID    uint64 `json:"id"`
		Label struct {
			Correct bool      `json:"correct"`
			Class   string    `json:"class"`
			By      string    `json:"by"`
			At      time.Time `json:"at"`
		} `json:"label"`
		HasImage *bool `json:"has_image"`
	}
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.ID != 2 || rec.Label.Correct || rec.Label.Class != "good" || rec.Label.By != "erik" || rec.Label.At.IsZero() || rec.HasImage == nil {
		t.Errorf("PUT answered %s", body)
	}
	// History shows it.
	if got := eng.expect("GET", "/api/v1/history/2", "", 200); !strings.Contains(got, `"label":{"correct":false,"class":"good","by":"erik"`) {
		t.Errorf("history record %s lacks the label", got)
	}
	// An admin may label too; "right" alone takes the verdict's class.
	if got := h.login("ada").expect("PUT", "/api/v1/records/1/label", `{"correct":true}`, 200); !strings.Contains(got, `"class":"good","by":"ada"`) {
		t.Errorf("admin label: %s", got)
	}

	for _, tc := range []struct {
		path, body string
		status     int
		says       string
	}{
		{"/api/v1/records/99/label", `{"correct":true}`, 404, "record 99"},
		{"/api/v1/records/x/label", `{"correct":true}`, 400, "record id"},
		{"/api/v1/records/2/label", `{"correct":false,"class":"crack"}`, 400, `\"crack\" is not a class of set parts (accepted: good, scratch, anomaly)`},
		{"/api/v1/records/2/label", `{"class":"good"}`, 400, "correct is required"},
		{"/api/v1/records/2/label", `{"correct":true,"class":"good"}`, 400, "marked right but its verdict is FAIL scratch"},
		{"/api/v1/records/3/label", `{"correct":true}`, 400, "UNCERTAIN"},
		{"/api/v1/records/4/label", `{"correct":false,"class":"good"}`, 409, "MISSED"},
		{"/api/v1/records/2/label", `{"correct":false,"class":"good","by":"mallory"}`, 400, "unknown field"},
	} {
		resp, got := eng.do("PUT", tc.path, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(got, tc.says) {
			t.Errorf("PUT %s %s: %d %s; want %d saying %s", tc.path, tc.body, resp.StatusCode, got, tc.status, tc.says)
		}
	}
	if r, err := h.journal.Get(2); err != nil {
		t.Fatal(err)
	} else if r.Label == nil || r.Label.By != "erik" {
		t.Errorf("refused labels changed record 2's label: %+v", r.Label)
	}

	eng.expect("DELETE", "/api/v1/records/2/label", "", 204)
	eng.expect("DELETE", "/api/v1/records/2/label", "", 404)
	eng.expect("DELETE", "/api/v1/records/99/label", "", 404)
	if r, err := h.journal.Get(2); err != nil {
		t.Fatal(err)
	} else if r.Label != nil {
		t.Errorf("label not cleared: %+v", r.Label)
	}

	log, err := h.store.AuditLog(10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.User+" "+e.Action+" "+e.Detail)
	}
	want := []string{
		"erik record.label.clear record 2 (FAIL scratch, camera cam0): label cleared (was good by erik)",
		"ada record.label record 1 (PASS good, camera cam0): right, true class good",
		"erik record.label record 2 (FAIL scratch, camera cam0): wrong, true class good",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestClassDistributionAPI(t *testing.T) {
	h := newHarness(t)
	labelFixture(h)
	eng := h.login("erik")
	eng.expect("PUT", "/api/v1/records/1/label", `{"correct":true}`, 200)
	eng.expect("PUT", "/api/v1/records/3/label", `{"correct":false,"class":"scratch"}`, 200)

	h.anon().expect("GET", "/api/v1/classes/parts/distribution", "", 401)
	body := h.login("olga").expect("GET", "/api/v1/classes/parts/distribution?range=1h&bins=4", "", 200)
	var d struct {
		Set      string `json:"set"`
		Bins     int    `json:"bins"`
		Recent   int    `json:"recent"`
		Labelled int    `json:"labelled"`
		Classes  []struct {
			Class     string  `json:"class"`
			Good      bool    `json:"good"`
			Threshold float64 `json:"threshold"`
			Recent    struct {
				Counts []int `json:"counts"`
			} `json:"recent"`
			Labelled struct {
				Positive struct{ Counts []int } `json:"positive"`
				Negative struct{ Counts []int } `json:"negative"`
			} `json:"labelled"`
		} `json:"classes"`
		Anomaly any `json:"anomaly"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	// Bins of 0.25: good 0.92, 0.2, 0.45 -> 3, 0, 1; scratch 0.08, 0.8, 0.55 -> 0, 3, 2.
	got := fmt.Sprintf("%s %d %d %d", d.Set, d.Bins, d.Recent, d.Labelled)
	for _, c := range d.Classes {
		got += fmt.Sprintf(" | %s %v %g %v +%v -%v", c.Class, c.Good, c.Threshold, c.Recent.Counts, c.Labelled.Positive.Counts, c.Labelled.Negative.Counts)
	}
	want := "parts 4 3 2 | good true 0.5 [1 1 0 1] +[0 0 0 1] -[0 1 0 0] | scratch false 0.5 [1 0 1 1] +[0 0 1 0] -[1 0 0 0]"
	if got != want || d.Anomaly != nil {
		t.Errorf("distribution %s (anomaly %v)\nwant %s", got, d.Anomaly, want)
	}
	// The range bounds the recent records, not the labelled ones.
	if body := eng.expect("GET", "/api/v1/classes/parts/distribution?range=1s", "", 200); !strings.Contains(body, `"recent":0,`) || !strings.Contains(body, `"labelled":2,`) {
		t.Errorf("a range without records: %s", body)
	}
	if resp, got := eng.do("GET", "/api/v1/classes/nope/distribution", ""); resp.StatusCode != 404 || !strings.Contains(got, "sets: parts") {
		t.Errorf("unknown set: %d %s", resp.StatusCode, got)
	}
	eng.expect("GET", "/api/v1/classes/parts/distribution?range=soon", "", 400)
	eng.expect("GET", "/api/v1/classes/parts/distribution?bins=1", "", 400)
}

// Records carry the camera's id; the defect-class file maps cameras by
// line/id. Labels and the distribution resolve a record's set by the
// appliance's rule, so a file that maps the camera by name alone works.
func TestLabelsResolveTheSetOfACameraMappedByName(t *testing.T) {
	h := newHarness(t)
	h.app.setSystem(System{State: "ready", Line: "l1", Cameras: []CameraInfo{{ID: "cam0"}}})
	must(t, os.WriteFile(h.classes.path, []byte(strings.Replace(classesYAML, "cameras:\n  default: parts\n",
		"  other:\n    good: {prompts: [\"a good one\"], threshold: 0.5}\n    defects:\n      - {name: dent, prompts: [\"a dent\"], threshold: 0.5}\ncameras:\n  l1/cam0: other\n", 1)), 0o644))
	labelFixture(h)
	eng := h.login("erik")
	if got := eng.expect("PUT", "/api/v1/records/2/label", `{"correct":false,"class":"dent"}`, 200); !strings.Contains(got, `"class":"dent"`) {
		t.Errorf("label with a class of the camera's set: %s", got)
	}
	if resp, got := eng.do("PUT", "/api/v1/records/1/label", `{"correct":false,"class":"scratch"}`); resp.StatusCode != 400 || !strings.Contains(got, "not a class of set other") {
		t.Errorf("a class of another set: %d %s", resp.StatusCode, got)
	}
	if body := eng.expect("GET", "/api/v1/classes/other/distribution?range=1h", "", 200); !strings.Contains(body, `"recent":3,`) {
		t.Errorf("the camera's records are not in its set's distribution: %s", body)
	}
}
