package app

import (
	"fmt"
	"log/slog"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
)

// JournalOptions maps the configuration's data_dir, journal and mqtt
// outbox settings to journal options.
func JournalOptions(cfg *config.Config, log *slog.Logger) journal.Options {
	j := cfg.Journal
	return journal.Options{
		Dir:            cfg.DataDir,
		FlushInterval:  j.FlushInterval,
		MaxBytes:       int64(j.MaxMB) << 20,
		MaxAge:         j.MaxAge,
		KeepPassImages: j.KeepPassImages,
		JPEGQuality:    j.JPEGQuality,
		ImageMaxSide:   j.ImageMaxSide,
		// Nothing is queued for a link that is not configured.
		NoOutbox:     cfg.MQTT.Broker == "",
		OutboxLimit:  cfg.MQTT.OutboxLimit,
		OutboxFull:   cfg.MQTT.OutboxFull,
		OutboxMaxAge: cfg.MQTT.OutboxMaxAge,
		Queue:        cfg.Pipeline.SinkQueue,
		Log:          log,
	}
}

// OpenJournal opens (creating or migrating) the journal in the data
// directory and starts its writer. Add it as a lossless sink first, so a
// verdict is on disk, and in the outbox, before anything else sees it.
func OpenJournal(cfg *config.Config, log *slog.Logger) (*journal.Journal, error) {
	j, err := journal.Open(JournalOptions(cfg, log))
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return j, nil
}
