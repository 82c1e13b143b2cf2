package app

import (
	"fmt"
	"github.com/linesight/linesight/appliance/trigger"
	"runtime"
	"time"

	"github.com/linesight/linesight/appliance/health"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/appliance/update"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
	"github.com/linesight/linesight/web"
)

// Web presents the appliance to the web server: web.Appliance and
// web.Classes.
type Web struct {
	App *App
}

func (w Web) Status() any   { return w.App.Status() }
func (w Web) State() string { return w.App.State() }
func (w Web) Trigger(camera string, t trigger.Trigger, arrived time.Time) error {
	return w.App.TriggerPart(camera, t, arrived)
}

// System is the health summary behind the dashboard and the alarms.
func (w Web) System() web.System { return w.App.Status().System() }

// System is the status as the dashboard's health summary shows it and the
// alarms are raised from it.
func (st Status) System() health.System {
	sys := health.System{
		Version: st.Version, GoVersion: runtime.Version(), ConfigHash: st.ConfigHash, Line: st.Line,
		State: st.State, Error: st.Error, Degraded: st.Degraded, StartedAt: st.StartedAt,
		Model: health.ModelInfo{Bundle: st.Model.Bundle, Variant: st.Model.Variant, Digest: st.Model.Digest, Provider: st.Model.Provider,
			Synthetic: st.Model.Synthetic},
		Defects: health.DefectsInfo{DefectsHash: st.Defects.DefectsHash, ConfigHash: st.Defects.DefectsHash,
			LoadedAt: st.Defects.LoadedAt, Error: st.Defects.Error},
		Broker: st.Broker, Outbox: st.Outbox, Disk: st.Disk, ProcessAlarms: st.Alarms,
		JournalQuarantined: st.JournalQuarantined,
	}
	if st.Journal != nil {
		sys.Journal = *st.Journal
	}
	sys.Warmup.State = Warmup(st.State)
	if sys.Warmup.State == WarmupReady {
		sys.Warmup.Duration = st.Warmup
	}
	for _, c := range st.Cameras {
		sys.Cameras = append(sys.Cameras, health.CameraInfo{ID: c.ID, Mode: c.Mode,
			State: c.Capture.State, FPS: c.Capture.FPS, LastFrame: c.Capture.LastFrame, LastError: c.Capture.LastError,
			SharedFrames: c.SharedFrames, LastSharedFrame: c.LastSharedFrame})
	}
	return sys
}

// WriteMetrics writes the pipeline's, the journal's and the broker's
// metrics.
func (w Web) WriteMetrics(p *web.Prom) {
	st := w.App.Status()
	for _, c := range st.Cameras {
		l := web.Labels{"camera": c.ID}
		p.Counter("linesight_frames_total", "Frames captured.", l, c.Frames)
		p.Counter("linesight_inspected_total", "Frames inspected.", l, c.Inspected)
		p.Counter("linesight_skipped_total", "Frames not inspected by choice (rate cap, no trigger).", l, c.Skipped)
		p.Counter("linesight_dropped_total", "Frames dropped because inference fell behind.", l, c.Dropped)
		p.Counter("linesight_triggers_total", "Triggers received.", l, c.Triggers)
		p.Counter("linesight_missed_total", "Triggers that produced no inspection.", l, c.Missed)
		p.Counter("linesight_shared_frames_total", "Triggers judged on a frame another trigger was judged on too.", l, c.SharedFrames)
		p.Gauge("linesight_queue_depth", "Frames waiting for inference.", l, float64(c.QueueDepth))
		p.Histogram("linesight_latency_seconds", "Capture to verdict.", l, c.Latency)
	}
	if st.State == StateReady || st.State == StateStopping {
		p.Histogram("linesight_inference_seconds", "Vision encoder time per batch.", nil, st.Inference)
	}
	if t := st.Tuning; t != nil && t.Monitor != nil {
		m := t.Monitor
		p.Counter("linesight_tuning_changes_total", "Changes the adaptive controller made.", nil, m.ChangeCount)
		p.Counter("linesight_tuning_swap_failures_total", "Variant swaps that failed.", nil, m.SwapFailures)
		p.Gauge("linesight_tuning_batch", "Batch size in force.", nil, float64(m.Settings.Batch))
		p.Gauge("linesight_tuning_batch_wait_seconds", "Longest wait to fill a batch, in force.", nil, m.Settings.Wait.Seconds())
		p.Gauge("linesight_tuning_latency_seconds", "The deadline quantile of the last window.", nil, m.Last.Latency.Seconds())
	}
	if e := st.Escalation; e != nil {
		for _, o := range []struct {
			outcome string
			n       uint64
		}{{"remote", e.Remote}, {"timeout", e.Timeouts}, {"refused", e.Refused}, {"unreachable", e.Unreachable}, {"error", e.Errors}} {
			p.Counter("linesight_escalations_total", "Escalated frames by outcome.", web.Labels{"outcome": o.outcome}, o.n)
		}
	}
	if st.Journal != nil {
		js := *st.Journal
		p.Counter("linesight_journal_written_total", "Records committed to the journal.", nil, js.Written)
		p.Counter("linesight_journal_flushes_total", "Journal transactions committed.", nil, js.Flushes)
		p.Counter("linesight_journal_images_total", "Images kept.", nil, js.ImagesKept)
		p.Counter("linesight_journal_image_errors_total", "Images that could not be stored.", nil, js.ImageErrors)
		p.Counter("linesight_journal_expired_total", "Records removed for age.", nil, js.Expired)
		p.Counter("linesight_journal_evicted_total", "Images removed for the size cap.", web.Labels{"kind": "pass"}, js.EvictedPass)
		p.Counter("linesight_journal_evicted_total", "Images removed for the size cap.", web.Labels{"kind": "kept"}, js.EvictedKept)
		p.Counter("linesight_journal_flush_errors_total", "Journal flushes that failed.", nil, js.FlushErrors)
		p.Counter("linesight_journal_evicted_records_total", "Oldest records removed to keep the disk's reserve free.", nil, js.EvictedRecords)
		p.Counter("linesight_journal_unjournaled_total", "Verdicts published without being journaled while commits failed.", nil, js.Unjournaled)
		p.Counter("linesight_journal_not_journaled_total", "Records never committed (held past the limit while commits failed, or at shutdown).", nil, js.NotJournaled)
		p.Gauge("linesight_journal_held", "Records waiting to be committed.", nil, float64(js.Held))
		degraded := 0.0
		if st.JournalDegraded != "" {
			degraded = 1
		}
		p.Gauge("linesight_journal_degraded", "1 while the journal cannot commit.", nil, degraded)
		if st.Broker.Configured {
			p.Gauge("linesight_outbox_pending", "Verdicts waiting to be published.", nil, float64(st.Outbox.Pending))
			p.Counter("linesight_outbox_expired_total", "Verdicts older than mqtt.outbox_max_age, dropped unpublished.", nil, st.Outbox.Expired)
			p.Counter("linesight_outbox_dropped_total", "Verdicts the full outbox dropped or refused, unpublished.", nil, st.Outbox.Dropped)
		}
	}
	w.writeFirmwareMetrics(p, st.Version)
	w.writeProcessAlarmMetrics(p, st.Alarms)
	if w.App.Broker != nil {
		up := 0.0
		if st.Broker.Connected {
			up = 1
		}
		p.Gauge("linesight_mqtt_connected", "1 while connected to the broker.", nil, up)
		p.Counter("linesight_mqtt_published_total", "Verdicts the broker acknowledged.", nil, st.Broker.Published)
	}
}

// Path is the defect-class file.
func (w Web) Path() string { return w.App.Config.Defects }

// Prepare builds scorers for an edited file with the running model, for
// trying or before saving it; nothing is installed.
func (w Web) Prepare(f *defects.File) (inspect.Scorers, error) {
	a := w.App
	if a.State() != StateReady {
		return nil, web.ErrNotReady
	}
	scorers, err := a.prepareScorers(f)
	if err != nil {
		return nil, fmt.Errorf("prepare defect classes: %w", err)
	}
	return scorers, nil
}

// Reload makes the appliance load the defect-class file again.
func (w Web) Reload() error { return w.App.ReloadDefects() }

// writeFirmwareMetrics writes the running version and the firmware update
// history's counts (docs/firmware.md). A history that cannot be read is
// left out, and logged: the counts would be wrong, not zero.
func (w Web) writeFirmwareMetrics(p *web.Prom, version string) {
	p.Gauge("linesight_build_info", "The running LineSight version (always 1).", web.Labels{"version": version}, 1)
	entries, err := update.OpenHistory(w.App.Config.DataDir).Entries()
	if err != nil {
		w.App.Log.Warn("metrics: firmware update history unreadable", "err", err)
		return
	}
	counts, _ := update.Counts(entries)
	for _, o := range update.Outcomes {
		p.Counter("linesight_firmware_updates_total", "Firmware update steps in the update history, by outcome.", web.Labels{"outcome": o}, uint64(counts[o]))
	}
}

// writeProcessAlarmMetrics writes 1 for each process alarm that holds and 0
// for the others, per camera, so a scraper sees each rule's series.
func (w Web) writeProcessAlarmMetrics(p *web.Prom, alarms []processalarm.Alarm) {
	active := map[[2]string]bool{}
	for _, a := range alarms {
		active[[2]string{a.Kind, a.Camera}] = true
	}
	for _, c := range w.App.Config.Cameras {
		for _, k := range []string{processalarm.KindLowYield, processalarm.KindFailStreak, processalarm.KindClassRising, processalarm.KindNoParts, processalarm.KindFPSLow} {
			v := 0.0
			if active[[2]string{k, c.ID}] {
				v = 1
			}
			p.Gauge("linesight_process_alarm", "1 while the process alarm holds (docs/alarms.md).", web.Labels{"kind": k, "camera": c.ID}, v)
		}
	}
}
