package mqttlink

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// BenchmarkVerdictToPUBACK measures one verdict at a time from entering
// the outbox to its PUBACK being recorded, against a real mosquitto on
// loopback, and reports the p50 and p99.
func BenchmarkVerdictToPUBACK(b *testing.B) {
	br := startBroker(b, nil)
	subscribe(b, br.URL(), "plc", "linesight/line1/+/verdict", nil) // a PLC listening, as on a line
	ob, app := newOutbox(), newFakeApp()
	ob.onAck = make(chan ackRecord, 1)
	l, stop := runLink(b, testOptions(br.URL()), ob, app)
	defer stop()
	awaitConnected(b, l)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		v := verdict("cam0", uint64(i+1), defects.Pass)
		v.InferredAt = time.Now()
		e := ob.Append(v)
		r := <-ob.onAck
		lat = append(lat, r.at.Sub(e.QueuedAt))
	}
	b.StopTimer()
	report(b, lat)
}

// BenchmarkJournalWriteToPUBACK measures the whole path on disk: journal
// Write (committed and synced every 5 ms here; journal.flush_interval is
// 200 ms by default) to the PUBACK being acked in the journal.
func BenchmarkJournalWriteToPUBACK(b *testing.B) {
	br := startBroker(b, nil)
	subscribe(b, br.URL(), "plc", "linesight/line1/+/verdict", nil)
	j := openJournal(b, b.TempDir())
	defer testenv.Close(b, "the journal", j)
	acked := make(chan time.Time, 1)
	l, stop := runLink(b, testOptions(br.URL()), ackSignal{journalOutbox{j}, acked}, newFakeApp())
	defer stop()
	awaitConnected(b, l)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := j.Write(context.Background(), &inspect.Result{Verdict: verdict("cam0", uint64(i+1), defects.Pass)}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-acked).Sub(start))
	}
	b.StopTimer()
	report(b, lat)
}

type ackSignal struct {
	journalOutbox
	acked chan<- time.Time
}

func (a ackSignal) Ack(id uint64, at time.Time) error {
	err := a.journalOutbox.Ack(id, at)
	a.acked <- at
	return err
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
