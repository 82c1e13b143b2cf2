package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
	"github.com/linesight/linesight/web"
)

// With no broker configured the appliance journals every verdict and
// queues none: no backlog builds up for a link that may be enabled later,
// and System shows no outbox.
func TestNoBrokerQueuesNothing(t *testing.T) {
	cfgPath, _ := writeConfig(t, 20)
	cfg, err := config.LoadAppliance(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.Broker != "" {
		t.Fatal("the test configuration has a broker")
	}
	log := slog.New(slog.DiscardHandler)
	j, err := OpenJournal(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	a := New(cfg, log)
	a.Journal = j
	a.AddSink(j, inspect.SinkOptions{Lossless: true})
	sink := inspect.NewMemorySink()
	a.AddSink(sink, inspect.SinkOptions{Lossless: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) >= 20 })
	if err := j.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	sys := Web{App: a}.System()
	if sys.Broker.Configured || sys.Outbox != (web.OutboxInfo{}) {
		t.Errorf("System shows broker %+v, outbox %+v; want no outbox without a broker", sys.Broker, sys.Outbox)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j, err = journal.Open(journal.Options{Dir: cfg.DataDir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	pending, err := j.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if written := j.Stats().LastID; written < 20 || j.OutboxLen() != 0 || len(pending) != 0 {
		t.Errorf("%d records journaled, outbox %d (%d pending); want at least 20 and an empty outbox", written, j.OutboxLen(), len(pending))
	}
}

// System names the two hashes apart, and shows no outbox left by an
// earlier run when MQTT is no longer configured.
func TestSystemHashesAndOutboxWithoutBroker(t *testing.T) {
	cfgPath, _ := writeConfig(t, 0)
	cfg, err := config.LoadAppliance(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// An outbox from a run that had a broker.
	j, err := journal.Open(journal.Options{Dir: cfg.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	for i := range 2 {
		if err := j.Write(context.Background(), &inspect.Result{Verdict: defects.Verdict{Camera: "free", Seq: uint64(i + 1), Outcome: defects.Pass}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, _, cancel, done := startApp(t, cfgPath, func(a *App) { a.Journal = j })
	defer stopApp(t, cancel, done)
	sys := Web{App: a}.System()
	if j.OutboxLen() != 2 || sys.Outbox.Pending != 0 {
		t.Errorf("outbox %d, System shows %+v; want it hidden without a broker", j.OutboxLen(), sys.Outbox)
	}
	var metrics web.Prom
	Web{App: a}.WriteMetrics(&metrics)
	if strings.Contains(metrics.String(), "linesight_outbox_") {
		t.Errorf("outbox metrics without a broker:\n%s", metrics.String())
	}
	a.Config.MQTT.Broker = "tcp://127.0.0.1:1883" // as if configured: the same journal's outbox is then shown
	metrics = web.Prom{}
	Web{App: a}.WriteMetrics(&metrics)
	for _, want := range []string{"linesight_outbox_pending 2\n", "linesight_outbox_expired_total 0\n", "linesight_outbox_dropped_total 0\n"} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics with a broker lack %q:\n%s", want, metrics.String())
		}
	}
	if sys := (Web{App: a}).System(); sys.Outbox.Pending != 2 || sys.Outbox.MaxAge != cfg.MQTT.OutboxMaxAge {
		t.Errorf("System with a broker shows outbox %+v", sys.Outbox)
	}
	if sys.ConfigHash != cfg.Hash() || sys.Defects.DefectsHash != cfg.Classes().Hash() || sys.ConfigHash == sys.Defects.DefectsHash {
		t.Errorf("config_hash %q defects_hash %q; want the configuration's %q and the defect file's %q",
			sys.ConfigHash, sys.Defects.DefectsHash, cfg.Hash(), cfg.Classes().Hash())
	}
}
