package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// TestRunOutboxRule runs `linesight run` twice on one data directory, as
// docs/mqtt.md's outbox rule describes it: with MQTT off, verdicts are
// journaled and none is queued; then,
// with an outbox an earlier run left (queued an hour ago, older than
// mqtt.outbox_max_age) and MQTT on against a real mosquitto, the PLC
// receives only the live verdicts, first and in order, and the stale ones
// are counted in the stats and marked expired on their records.
func TestRunOutboxRule(t *testing.T) {
	testenv.RequireORT(t)
	broker := mosquitto.Start(t, nil)
	model := synth(t, 1, "fp32")
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	writeCfg := func(name, cameras, rest string) string {
		return runConfig{Dir: dir, Name: name, Model: model, Cameras: cameras, Rest: rest}.write(t)
	}

	// 1. MQTT off, a free-running camera; every verdict logged.
	t.Setenv("LINESIGHT_LOG", "debug")
	off := writeCfg("off.yaml", "  - {id: cam0, source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}}\n",
		"web: {listen: \"\"}\njournal: {flush_interval: 20ms}\n")
	a := launchAppliance(t, off)
	a.waitFor(t, "five verdicts", func() bool { return strings.Count(a.Log.String(), "msg=verdict ") >= 5 })
	if code := a.stop(t); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, a.Log.String())
	}
	j, err := journal.Open(journal.Options{Dir: dataDir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	offRecords := j.Stats().LastID
	if pending, err := j.Pending(0, 10); err != nil {
		t.Fatal(err)
	} else if offRecords < 5 || j.OutboxLen() != 0 || len(pending) != 0 {
		t.Errorf("after a run with MQTT off: %d records, outbox %d, pending %d; want records and no outbox entry", offRecords, j.OutboxLen(), len(pending))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// 2. An outbox left by a run whose broker was unreachable, an hour ago.
	hourAgo := func() time.Time { return time.Now().Add(-time.Hour) }
	j, err = journal.Open(journal.Options{Dir: dataDir, Now: hourAgo})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		v := defects.Verdict{Camera: "cam0", Seq: uint64(i), PartID: fmt.Sprintf("stale-%d", i), CapturedAt: hourAgo(), InferredAt: hourAgo(),
			Outcome: defects.Pass, Action: defects.ActionPass, Class: "good", Confidence: 0.9}
		if err := j.Write(context.Background(), &inspect.Result{Verdict: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	lastStale := j.Stats().LastID
	if j.OutboxLen() != 50 {
		t.Fatalf("seeded outbox holds %d, want 50", j.OutboxLen())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// 3. MQTT on: a PLC triggers three parts.
	on := writeCfg("on.yaml", "  - {id: cam0, mode: triggered, source: {kind: synthetic, width: 64, height: 48, fps: 30, seed: 1}}\n",
		fmt.Sprintf("mqtt: {broker: %q, client_id: appliance-under-test, stats_interval: 1s}\nweb: {listen: \"\"}\njournal: {flush_interval: 20ms}\n", broker.URL()))
	var mu sync.Mutex
	var verdicts []map[string]any
	var statsMsgs, status []string
	plc := connectPLC(t, broker.URL(), func(topic string, payload []byte) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(topic, "/verdict"):
			var v map[string]any
			if err := json.Unmarshal(payload, &v); err != nil {
				t.Errorf("verdict %s: %v", payload, err)
			}
			verdicts = append(verdicts, v)
		case strings.HasSuffix(topic, "/stats"):
			statsMsgs = append(statsMsgs, string(payload))
		case strings.HasSuffix(topic, "/status"):
			status = append(status, string(payload))
		}
	})
	// waitLocked waits for cond on what the PLC received.
	waitLocked := func(what string, cond func() bool) {
		t.Helper()
		testenv.WaitFor(t, what, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return cond()
		})
	}

	a = launchAppliance(t, on)
	waitLocked("the appliance ready", func() bool {
		return len(status) > 0 && strings.Contains(status[len(status)-1], `"warmup":"ready"`)
	})
	for _, part := range []string{"P-1", "P-2", "P-3"} {
		plc.Publish("linesight/l1/cam0/trigger", 1, false, fmt.Sprintf(`{"part_id":%q}`, part)).Wait()
	}
	waitLocked("the three live verdicts", func() bool { return len(verdicts) >= 3 })
	waitLocked("stats counting the expired verdicts", func() bool {
		return len(statsMsgs) > 0 && strings.Contains(statsMsgs[len(statsMsgs)-1], `"outbox_expired":50`)
	})
	if code := a.stop(t); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, a.Log.String())
	}

	mu.Lock()
	parts := partIDs(verdicts)
	for _, v := range verdicts {
		if id, _ := v["id"].(float64); uint64(id) <= lastStale {
			t.Errorf("verdict %v of part %v, queued an hour ago, was published", v["id"], v["part_id"])
		}
	}
	mu.Unlock()
	if want := []string{"P-1", "P-2", "P-3"}; fmt.Sprint(parts) != fmt.Sprint(want) {
		t.Errorf("the PLC received parts %v, want only the live %v, in order", parts, want)
	}
	j, err = journal.Open(journal.Options{Dir: dataDir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	for _, id := range []uint64{offRecords + 1, lastStale} {
		if r, err := j.Get(id); err != nil {
			t.Fatal(err)
		} else if r.OutboxDropped != journal.DroppedExpired || !r.PublishedAt.IsZero() {
			t.Errorf("stale record %d: outbox_dropped %q, published %v; want expired, unpublished", id, r.OutboxDropped, r.PublishedAt)
		}
	}
	if j.OutboxLen() != 0 {
		t.Errorf("outbox %d after the run, want 0", j.OutboxLen())
	}
}

func partIDs(verdicts []map[string]any) []string {
	out := make([]string, len(verdicts))
	for i, v := range verdicts {
		out[i] = fmt.Sprint(v["part_id"])
	}
	return out
}
