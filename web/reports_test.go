package web

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/shiftreport"
)

// The saved shift reports are listed and served, JSON and page, to
// operators; nothing else in the folder is reachable.
func TestShiftReportsAreListedAndServed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), shiftreport.Folder)
	h := newHarness(t, func(o *Options) { o.Reports = dir })
	start := time.Now().Add(-10 * time.Hour).Truncate(time.Hour)
	w := &shiftreport.Writer{Dir: dir, Source: h.journal, Line: "line1", Starts: []int{0}}
	if _, err := w.Write(start, start.Add(8*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	olga := h.login("olga")
	var list []shiftreport.Entry
	if err := json.Unmarshal([]byte(olga.expect("GET", "/api/v1/reports", "", 200)), &list); err != nil {
		t.Fatal(err)
	}
	name := shiftreport.Name(start)
	if len(list) != 1 || list[0].Name != name || list[0].HTML != name+".html" {
		t.Fatalf("reports %+v", list)
	}
	resp, body := olga.do("GET", "/api/v1/reports/"+list[0].HTML, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Shift report: line line1") {
		t.Errorf("page: %d %s %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if body := olga.expect("GET", "/api/v1/reports/"+list[0].JSON, "", 200); !strings.Contains(body, `"line": "line1"`) {
		t.Errorf("json: %.80s", body)
	}
	olga.expect("GET", "/api/v1/reports/secret.txt", "", 404)
	olga.expect("GET", "/api/v1/reports/..%2fsecret.txt", "", 404)
	h.anon().expect("GET", "/api/v1/reports", "", 401)
	newHarness(t).login("olga").expect("GET", "/api/v1/reports", "", 503)
}
