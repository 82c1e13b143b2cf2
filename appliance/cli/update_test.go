package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/appliance/update"
	"github.com/linesight/linesight/appliance/update/rauctest"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

// The firmware commands against a real RAUC (loop-backed slots, its own
// D-Bus): `update install` of a good bundle writes the other slot, prints
// RAUC's progress and is audited; the box reboots into it and `update
// gate` marks it good once the running appliance (its local API) is ready
// and inspecting; a bundle signed with another key is refused, the running
// slot untouched; `update history` tells all of it.
func TestUpdateCommandsWithRAUC(t *testing.T) {
	rauctest.Require(t)
	keys := rauctest.NewKeys(t, "LineSight test")
	format := rauctest.Format(t)
	box := rauctest.NewBox(t, keys, format)
	rootfs := rauctest.RootFS(t, "2.0.0", 4<<20)
	good := rauctest.Bundle(t, rootfs, "2.0.0", format, keys)
	stranger := rauctest.Bundle(t, rootfs, "2.0.0", format, rauctest.NewKeys(t, "Someone else"))
	cfg, _ := goldenConfig(t, 0)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}

	out, err := runGolden(t, updateInstall, "--config", cfg, "--bus", box.Bus, good)
	if err != nil {
		t.Fatalf("update install: %v\n%s", err, out)
	}
	if !strings.Contains(out, "100% ") || !strings.Contains(out, "installed version 2.0.0 into rootfs.1: reboot to start it") {
		t.Errorf("update install printed:\n%s", out)
	}
	if p := box.BootState("primary"); p != "B" {
		t.Fatalf("primary %q after the install, want B", p)
	}
	store, err := users.OpenStore(filepath.Join(dataDir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	log, err := store.AuditLog(10)
	if cerr := store.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil || len(log) != 1 || log[0].Action != "firmware.install" || !strings.Contains(log[0].Detail, "installed, version 2.0.0 in rootfs.1") {
		t.Errorf("audit log %+v (%v), want the install", log, err)
	}

	if slot := box.Reboot(); slot != "B" {
		t.Fatalf("booted %s, want B", slot)
	}
	// The appliance on the new slot: ready, its cameras delivering.
	var mu sync.Mutex
	frames := uint64(0)
	j, err := journal.Open(journal.Options{Dir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	ls, err := localapi.Start(dataDir, localapi.Backend{Journal: j, Health: func() update.Health {
		mu.Lock()
		defer mu.Unlock()
		frames += 5
		return update.Health{State: "ready", Frames: frames, Inspected: frames}
	}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	out, err = runGolden(t, updateGate, "--config", cfg, "--bus", box.Bus, "--timeout", "1m")
	if cerr := ls.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil || !strings.Contains(out, "slot rootfs.1 (version 2.0.0) is good") {
		t.Fatalf("update gate: %v\n%s", err, out)
	}
	if s := box.BootState("state.B"); s != "good" {
		t.Errorf("B after the gate: %q, want good", s)
	}
	if store, err = users.OpenStore(filepath.Join(dataDir, users.StoreFile)); err != nil {
		t.Fatal(err)
	}
	log, err = store.AuditLog(10)
	if cerr := store.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil || len(log) != 2 || log[0].Action != "firmware.good" || log[0].User != "health-gate" || !strings.Contains(log[0].Detail, "slot rootfs.1, version 2.0.0: good") {
		t.Errorf("audit log after the gate %+v (%v), want the slot marked good, by the health gate", log, err)
	}

	slotA, err := os.ReadFile(box.SlotA)
	if err != nil {
		t.Fatal(err)
	}
	out, err = runGolden(t, updateInstall, "--config", cfg, "--bus", box.Bus, stranger)
	if err == nil || !strings.Contains(err.Error(), "RAUC refused the bundle") || !strings.Contains(err.Error(), "the running slot is unchanged") {
		t.Errorf("a bundle signed with another key: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(box.SlotA); err != nil {
		t.Fatal(err)
	} else if string(got) != string(slotA) {
		t.Error("slot A was written by a refused bundle")
	}

	out, err = runGolden(t, updateHistory, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"installed", "good", "refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("update history lacks %q:\n%s", want, out)
		}
	}
}
