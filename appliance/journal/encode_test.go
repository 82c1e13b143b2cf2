package journal

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

// A record's JSON and its outbox entry's are made from one encoding of the
// verdict: byte for byte what encoding the whole values gives, for a plain
// verdict, a missed part, one with regions and an image name that needs
// escaping.
func TestRecordAndOutboxShareOneVerdictEncoding(t *testing.T) {
	at := time.Date(2026, 12, 4, 6, 0, 0, 123, time.UTC)
	rich := verdict("cam0", 7, at, defects.Fail, "scratch", "P-7")
	rich.Regions = []defects.RegionVerdict{{Name: "cap", Outcome: defects.Fail, Class: "scratch", Confidence: 0.9}}
	rich.Region, rich.Recipe, rich.TriggeredAt = "cap", "blue", at.Add(-time.Millisecond)
	for _, c := range []struct {
		name  string
		v     defects.Verdict
		image string
	}{
		{"plain", verdict("cam0", 1, at, defects.Pass, "good", ""), ""},
		{"missed", verdict("cam1", 2, at, defects.Missed, "", "P-2"), ""},
		{"regions and image", rich, `2026-12-04/7-cam0 "a".jpg`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := newPending(9, c.v, c.image, 0)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(Record{ID: 9, Verdict: c.v, Image: c.image})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.record, want) {
				t.Errorf("record\n got %s\nwant %s", p.record, want)
			}
			queued := at.Add(time.Second)
			if err := p.queue(c.v, queued); err != nil {
				t.Fatal(err)
			}
			want, err = json.Marshal(outboxValue{Verdict: c.v, QueuedAt: queued})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.verdict, want) {
				t.Errorf("outbox entry\n got %s\nwant %s", p.verdict, want)
			}
			if p.entry.ID != 9 || !p.entry.QueuedAt.Equal(queued) || p.entry.Verdict.Seq != c.v.Seq || p.entry.Verdict.Embedding != nil {
				t.Errorf("in-memory entry %+v", p.entry)
			}
		})
	}
}

// BenchmarkEncodeRecord compares encoding a record and its outbox entry
// from one encoding of the verdict with encoding both values whole.
func BenchmarkEncodeRecord(b *testing.B) {
	at := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	v := verdict("cam0", 7, at, defects.Fail, "scratch", "P-7")
	b.Run("once", func(b *testing.B) {
		for b.Loop() {
			p, err := newPending(9, v, "2026-12-04/7-cam0.jpg", 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.queue(v, at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("twice", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(Record{ID: 9, Verdict: v, Image: "2026-12-04/7-cam0.jpg"}); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(outboxValue{Verdict: v, QueuedAt: at}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
