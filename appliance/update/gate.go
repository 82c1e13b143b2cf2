package update

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Health is what the gate reads from the running appliance.
type Health struct {
	// State is the appliance's state; "ready" once the model is warm and
	// the loop runs.
	State string `json:"state"`
	// Frames counts frames captured over all cameras: rising means the
	// cameras deliver and the loop takes them.
	Frames uint64 `json:"frames"`
	// Inspected counts frames inspected over all cameras.
	Inspected uint64 `json:"inspected"`
	// Broker is the configured MQTT broker ("" when none), Connected
	// whether the appliance is connected to it.
	Broker    string `json:"broker,omitempty"`
	Connected bool   `json:"connected"`
}

// GateConfig is the health gate's rule.
type GateConfig struct {
	// Timeout: the appliance must pass within it after the gate starts.
	Timeout time.Duration
	// Poll is the interval between two looks at the appliance.
	Poll time.Duration
	// Health reads the appliance's health; an error (not running yet, not
	// answering) counts as not healthy and is retried.
	Health func(context.Context) (Health, error)
}

// ErrGateFailed means the slot did not pass its health gate in time.
var ErrGateFailed = errors.New("health gate failed")

// DefaultGateTimeout is how long a freshly booted slot has to pass.
const DefaultGateTimeout = 5 * time.Minute

// passes says whether the appliance is ready, inspecting (its frame count
// rose since first seen), and connected to its broker when it has one;
// else why not.
func passes(first, now Health) (bool, string) {
	switch {
	case now.State != "ready":
		return false, fmt.Sprintf("the appliance is %s, not ready", now.State)
	case now.Frames <= first.Frames && now.Inspected <= first.Inspected:
		return false, "the appliance takes no frames"
	case now.Broker != "" && !now.Connected:
		return false, fmt.Sprintf("the appliance is not connected to its broker %s", now.Broker)
	}
	return true, ""
}

// Gate runs the health gate on the running slot: when the appliance passes
// within the timeout, RAUC marks the slot good and the history says so.
// Otherwise the slot is left unmarked (the bootloader falls back to the
// other slot when its boot attempts run out) and the error says why. When
// the box runs another slot than the one installed last, the installed one
// failed and the box fell back: the history records the rollback.
func Gate(ctx context.Context, rauc *RAUC, history *History, cfg GateConfig) (Entry, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultGateTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	st, err := rauc.Status(ctx)
	if err != nil {
		return Entry{}, err
	}
	booted := slotByBootname(st, st.Booted)
	entry := Entry{User: "health-gate", Slot: booted.Name, Version: booted.Version}
	record := func(e Entry, err error) (Entry, error) {
		e.At = time.Now()
		if err != nil {
			e.Error = err.Error()
		}
		if herr := history.Append(e); herr != nil {
			err = errors.Join(err, herr)
		}
		return e, err
	}
	// Every boot runs the gate; the history tells of the boots that settle
	// an update (and of every failure), not of each ordinary boot.
	pending := false
	if entries, err := history.Entries(); err == nil {
		if last := lastInstall(entries); last != nil {
			pending = true
			if last.Slot != "" && last.Slot != booted.Name {
				// A history that cannot be written must not stop the gate:
				// the error is in the log through the returned entry's use.
				record(Entry{User: "health-gate", Source: last.Source, Version: last.Version, Slot: last.Slot, Outcome: OutcomeRolledBack},
					fmt.Errorf("the box came up on %s, not on %s where version %s was installed", booted.Name, last.Slot, last.Version))
			}
		}
	}

	gctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var first *Health
	why := "the appliance did not answer"
	tick := time.NewTicker(cfg.Poll)
	defer tick.Stop()
	for {
		if h, err := cfg.Health(gctx); err != nil {
			why = err.Error()
		} else if first == nil {
			first = &h
			why = "the appliance takes no frames"
			if h.State != "ready" {
				why = fmt.Sprintf("the appliance is %s, not ready", h.State)
			}
		} else if ok, reason := passes(*first, h); ok {
			if _, err := rauc.MarkGood(ctx); err != nil {
				entry.Outcome = OutcomeGateFailed
				return record(entry, err)
			}
			entry.Outcome = OutcomeGood
			if !pending {
				entry.At = time.Now()
				return entry, nil
			}
			return record(entry, nil)
		} else {
			why = reason
		}
		select {
		case <-gctx.Done():
			if ctx.Err() != nil {
				return entry, ctx.Err()
			}
			entry.Outcome = OutcomeGateFailed
			return record(entry, fmt.Errorf("%w: not healthy within %s: %s", ErrGateFailed, cfg.Timeout, why))
		case <-tick.C:
		}
	}
}

// lastInstall is the newest entry that installed a slot, unless a later
// entry already settled it (marked good, or recorded the rollback).
func lastInstall(entries []Entry) *Entry {
	for i := len(entries) - 1; i >= 0; i-- {
		switch entries[i].Outcome {
		case OutcomeInstalled:
			return &entries[i]
		case OutcomeGood, OutcomeRolledBack:
			return nil
		}
	}
	return nil
}

func slotByBootname(st Status, bootname string) Slot {
	for _, s := range st.Slots {
		if s.Bootname == bootname {
			return s
		}
	}
	return Slot{Bootname: bootname}
}
