package config

import (
	"github.com/linesight/linesight/internal/yamlconf"
	"github.com/linesight/linesight/pipeline/capture"
	"github.com/linesight/linesight/pipeline/clip/engine"
)

// applyDefaults fills in every key the file leaves out. A key that is
// present keeps its value, zero included, and is validated as written.
func applyDefaults(doc *yamlconf.Doc, c *Config) {
	set := func(path string, apply func()) {
		if !doc.Has(path) {
			apply()
		}
	}
	set("data_dir", func() { c.DataDir = DefaultDataDir })

	if c.Model.Variant == "" {
		c.Model.Variant = DefaultVariant
	}
	set("model.providers", func() { c.Model.Providers = []engine.Provider{{Name: DefaultProvider}} })

	for i := range c.Cameras {
		cam := &c.Cameras[i]
		p := yamlconf.Index("cameras", i)
		set(p+".flip", func() { cam.Flip = capture.FlipNone })
		set(p+".stall_timeout", func() { cam.StallTimeout = capture.DefaultStallTimeout })
		set(p+".reconnect.min", func() { cam.Reconnect.Min = capture.DefaultBackoffMin })
		set(p+".reconnect.max", func() { cam.Reconnect.Max = max(capture.DefaultBackoffMax, cam.Reconnect.Min) })
		set(p+".reconnect.jitter", func() { cam.Reconnect.Jitter = DefaultJitter })
		set(p+".mode", func() { cam.Mode = DefaultMode })
		set(p+".trigger_timeout", func() { cam.TriggerTimeout = DefaultTriggerTimeout })
		set(p+".trigger_window", func() { cam.TriggerWindow = DefaultTriggerWindow })
	}

	pl := &c.Pipeline
	set("pipeline.batch_size", func() { pl.BatchSize = DefaultBatchSize })
	set("pipeline.batch_wait", func() { pl.BatchWait = DefaultBatchWait })
	set("pipeline.queue_size", func() { pl.QueueSize = DefaultQueueSize })
	set("pipeline.sink_queue", func() { pl.SinkQueue = DefaultSinkQueue })

	m := &c.MQTT
	if m.ClientID == "" {
		m.ClientID = defaultClientID(c.Line)
	}
	set("mqtt.keepalive", func() { m.Keepalive = DefaultKeepalive })
	set("mqtt.reconnect.min", func() { m.Reconnect.Min = DefaultMQTTReconnectMin })
	set("mqtt.reconnect.max", func() { m.Reconnect.Max = max(DefaultMQTTReconnectMax, m.Reconnect.Min) })
	set("mqtt.reconnect.jitter", func() { m.Reconnect.Jitter = DefaultJitter })
	set("mqtt.outbox_limit", func() { m.OutboxLimit = DefaultOutboxLimit })
	set("mqtt.outbox_full", func() { m.OutboxFull = DefaultOutboxFull })
	set("mqtt.outbox_max_age", func() { m.OutboxMaxAge = DefaultOutboxMaxAge })
	set("mqtt.stats_interval", func() { m.StatsInterval = DefaultStatsInterval })

	set("web.listen", func() { c.Web.Listen = DefaultListen })
	set("web.max_streams", func() { c.Web.MaxStreams = DefaultMaxStreams })
	set("web.max_streams_per_camera", func() { c.Web.MaxStreamsPerCamera = DefaultMaxStreamsPerCamera })

	applyTuningDefaults(set, c)
	applyAlarmDefaults(set, c)

	j := &c.Journal
	set("journal.flush_interval", func() { j.FlushInterval = DefaultFlushInterval })
	set("journal.max_mb", func() { j.MaxMB = DefaultMaxMB })
	set("journal.max_age", func() { j.MaxAge = DefaultMaxAge })
	set("journal.keep_pass_images", func() { j.KeepPassImages = DefaultKeepPassImages })
	set("journal.jpeg_quality", func() { j.JPEGQuality = DefaultJPEGQuality })
	set("journal.image_max_side", func() { j.ImageMaxSide = DefaultImageMaxSide })
}

// defaultClientID is unique per line, so two appliances on one broker do
// not disconnect each other.
func defaultClientID(line string) string {
	if line == "" {
		return "linesight"
	}
	return "linesight-" + line
}
