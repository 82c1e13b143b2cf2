// Package update installs firmware bundles with RAUC and keeps their
// history. RAUC does the work that must not go wrong (checking the bundle's
// signature and verity hashes, writing the inactive root slot, switching the
// bootloader to it); this package asks it to over its D-Bus API, follows the
// progress, records who installed which version with which outcome, and runs
// the health gate that marks a freshly booted slot good.
//
// D-Bus rather than the rauc command: the service reports progress and the
// outcome as typed properties and a Completed signal, where the command
// prints them as text meant for people.
package update

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// RAUC's D-Bus names.
const (
	raucService   = "de.pengutronix.rauc"
	raucPath      = dbus.ObjectPath("/")
	raucInstaller = "de.pengutronix.rauc.Installer"
)

// RAUC is a connection to the RAUC service.
type RAUC struct {
	conn *dbus.Conn
	obj  dbus.BusObject
}

// Dial connects to RAUC on the bus at address, or on the system bus when
// address is "" (where rauc.service runs on the box).
func Dial(ctx context.Context, address string) (*RAUC, error) {
	var conn *dbus.Conn
	var err error
	if address == "" {
		conn, err = dbus.ConnectSystemBus(dbus.WithContext(ctx))
	} else {
		conn, err = dbus.Connect(address, dbus.WithContext(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("connect to the D-Bus where RAUC runs: %w", err)
	}
	return &RAUC{conn: conn, obj: conn.Object(raucService, raucPath)}, nil
}

// Close closes the connection.
func (r *RAUC) Close() error { return r.conn.Close() }

// Progress is RAUC's progress of an installation.
type Progress struct {
	Percent int    `json:"percent"`
	Message string `json:"message"`
}

// ErrBusy means RAUC is already installing a bundle.
var ErrBusy = errors.New("RAUC is already installing a bundle")

// InstallError is an installation RAUC ended with an error.
type InstallError struct {
	Bundle string
	Reason string // RAUC's LastError
	// Writing says whether RAUC had begun to update the slots; when not, it
	// refused the bundle (signature, format, compatibility) and wrote
	// nothing.
	Writing bool
}

func (e *InstallError) Error() string {
	if e.Writing {
		return fmt.Sprintf("RAUC failed to install %s: %s", e.Bundle, e.Reason)
	}
	return fmt.Sprintf("RAUC refused the bundle %s: %s", e.Bundle, e.Reason)
}

// Install has RAUC install the bundle (a file path) into the inactive slot
// and make that slot the one to boot next. onProgress, when not nil, gets
// each progress step. It returns when RAUC is done; a refused or failed
// installation is an error with RAUC's reason.
func (r *RAUC) Install(ctx context.Context, bundle string, onProgress func(Progress)) error {
	// Subscribe before starting, so neither a step nor the end is missed.
	matches := []dbus.MatchOption{dbus.WithMatchObjectPath(raucPath), dbus.WithMatchSender(raucService)}
	if err := r.conn.AddMatchSignalContext(ctx, matches...); err != nil {
		return fmt.Errorf("follow RAUC's progress: %w", err)
	}
	defer r.conn.RemoveMatchSignalContext(context.Background(), matches...)
	signals := make(chan *dbus.Signal, 64)
	r.conn.Signal(signals)
	defer r.conn.RemoveSignal(signals)

	call := r.obj.CallWithContext(ctx, raucInstaller+".InstallBundle", 0, bundle, map[string]dbus.Variant{})
	if call.Err != nil {
		if op, err := r.property(ctx, "Operation"); err == nil && op != "idle" {
			return ErrBusy
		}
		return &InstallError{Bundle: bundle, Reason: dbusError(call.Err).Error()}
	}
	writing := false
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for RAUC to install %s: %w", bundle, ctx.Err())
		case s, ok := <-signals:
			if !ok {
				return fmt.Errorf("lost the connection to RAUC while it installs %s", bundle)
			}
			switch s.Name {
			case "org.freedesktop.DBus.Properties.PropertiesChanged":
				p, ok := progressOf(s)
				if !ok {
					continue
				}
				// RAUC's step after checking and mounting the bundle.
				if strings.HasPrefix(p.Message, "Updating slots") {
					writing = true
				}
				if onProgress != nil {
					onProgress(p)
				}
			case raucInstaller + ".Completed":
				var result int32
				if len(s.Body) > 0 {
					result, _ = s.Body[0].(int32)
				}
				if result == 0 {
					return nil
				}
				reason, err := r.property(ctx, "LastError")
				if err != nil || reason == "" {
					reason = fmt.Sprintf("result %d", result)
				}
				return &InstallError{Bundle: bundle, Reason: reason, Writing: writing}
			}
		}
	}
}

// progressOf reads the Progress property out of a PropertiesChanged signal.
func progressOf(s *dbus.Signal) (Progress, bool) {
	if len(s.Body) < 2 {
		return Progress{}, false
	}
	if iface, _ := s.Body[0].(string); iface != raucInstaller {
		return Progress{}, false
	}
	changed, _ := s.Body[1].(map[string]dbus.Variant)
	v, ok := changed["Progress"]
	if !ok {
		return Progress{}, false
	}
	// (isi): percentage, message, nesting depth.
	fields, ok := v.Value().([]any)
	if !ok || len(fields) < 2 {
		return Progress{}, false
	}
	pct, _ := fields[0].(int32)
	msg, _ := fields[1].(string)
	return Progress{Percent: int(pct), Message: msg}, true
}

// Slot is one slot as RAUC reports it.
type Slot struct {
	Name      string `json:"name"`     // rootfs.0
	Bootname  string `json:"bootname"` // A
	Device    string `json:"device"`
	State     string `json:"state"`       // booted, active, inactive
	Boot      string `json:"boot_status"` // good, bad
	Version   string `json:"version,omitempty"`
	Installed string `json:"installed,omitempty"` // when RAUC wrote it
}

// Status is the slots, the one booted and the one to boot next.
type Status struct {
	Compatible string `json:"compatible"`
	Booted     string `json:"booted"`  // bootname of the running slot
	Primary    string `json:"primary"` // slot name the bootloader tries first
	Slots      []Slot `json:"slots"`
}

// Status reads the slots' status.
func (r *RAUC) Status(ctx context.Context) (Status, error) {
	var st Status
	var err error
	if st.Compatible, err = r.property(ctx, "Compatible"); err != nil {
		return st, err
	}
	if st.Booted, err = r.property(ctx, "BootSlot"); err != nil {
		return st, err
	}
	if err := r.obj.CallWithContext(ctx, raucInstaller+".GetPrimary", 0).Store(&st.Primary); err != nil {
		return st, fmt.Errorf("ask RAUC for the primary slot: %w", dbusError(err))
	}
	var raw []struct {
		Name   string
		Fields map[string]dbus.Variant
	}
	if err := r.obj.CallWithContext(ctx, raucInstaller+".GetSlotStatus", 0).Store(&raw); err != nil {
		return st, fmt.Errorf("ask RAUC for the slots: %w", dbusError(err))
	}
	for _, s := range raw {
		str := func(k string) string { v, _ := s.Fields[k].Value().(string); return v }
		st.Slots = append(st.Slots, Slot{
			Name: s.Name, Bootname: str("bootname"), Device: str("device"), State: str("state"),
			Boot: str("boot-status"), Version: str("bundle.version"), Installed: str("installed.timestamp"),
		})
	}
	return st, nil
}

// MarkGood marks the running slot good: the bootloader keeps booting it.
// It returns the slot's name.
func (r *RAUC) MarkGood(ctx context.Context) (string, error) {
	var slot, msg string
	if err := r.obj.CallWithContext(ctx, raucInstaller+".Mark", 0, "good", "booted").Store(&slot, &msg); err != nil {
		return "", fmt.Errorf("mark the running slot good: %w", dbusError(err))
	}
	return slot, nil
}

func (r *RAUC) property(ctx context.Context, name string) (string, error) {
	var v dbus.Variant
	err := r.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, raucInstaller, name).Store(&v)
	if err != nil {
		return "", fmt.Errorf("read RAUC's %s: %w", name, dbusError(err))
	}
	s, _ := v.Value().(string)
	return s, nil
}

// dbusError turns a D-Bus error reply into RAUC's own message.
func dbusError(err error) error {
	var e dbus.Error
	if errors.As(err, &e) && len(e.Body) > 0 {
		if msg, ok := e.Body[0].(string); ok {
			if e.Name == "org.freedesktop.DBus.Error.ServiceUnknown" {
				return fmt.Errorf("RAUC is not running (%s)", strings.TrimSpace(msg))
			}
			return errors.New(strings.TrimSpace(msg))
		}
	}
	return err
}
