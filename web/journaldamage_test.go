package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/pipeline/boltfile"
)

func TestJournalQuarantinedAlarm(t *testing.T) {
	h := newHarness(t)
	h.app.setSystem(System{State: "ready", JournalQuarantined: []journal.Quarantine{{
		Path: "/data/journal.db.damaged-20260102T030405Z", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Reason: "truncated: the file is 16384 bytes"}}})
	h.srv.checkAlarms()
	c := h.login("olga")
	list := c.expect("GET", "/api/v1/alarms", "", 200)
	for _, want := range []string{`"id":"journal_quarantined"`, `"severity":"warning"`, "truncated: the file is 16384 bytes",
		"journal recover --file /data/journal.db.damaged-20260102T030405Z"} {
		if !strings.Contains(list, want) {
			t.Errorf("alarms lack %q: %s", want, list)
		}
	}
	h.app.setSystem(System{State: "ready"})
	h.srv.checkAlarms()
	if list := c.expect("GET", "/api/v1/alarms", "", 200); list != "[]\n" {
		t.Errorf("the file moved away should clear the alarm: %s", list)
	}
}

// damagedHistory is a journal whose reads meet a damaged page.
type damagedHistory struct{ History }

func (damagedHistory) Query(journal.Query) (journal.Page, error) {
	return journal.Page{}, fmt.Errorf("query journal: %w", &boltfile.Damage{Path: "journal.db", Reason: "page 7 has type 0x9c"})
}

func (damagedHistory) Counters(from, to time.Time) (journal.Counters, error) {
	return journal.Counters{}, &boltfile.Damage{Path: "journal.db", Reason: "page 7 has type 0x9c"}
}

// A damaged journal answers 503 with what is wrong, not a bare 500.
func TestDamagedJournalAnswers503(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.History = damagedHistory{o.History} })
	c := h.login("olga")
	for _, path := range []string{"/api/v1/history", "/api/v1/stats/yield"} {
		if body := c.expect("GET", path, "", 503); !strings.Contains(body, "journal.db is damaged: page 7") {
			t.Errorf("%s: %s", path, body)
		}
	}
}
