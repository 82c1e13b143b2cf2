package update_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/update"
	"github.com/linesight/linesight/appliance/update/rauctest"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

// healthy is an appliance that is ready and takes frames.
func healthy() func(context.Context) (update.Health, error) {
	var mu sync.Mutex
	var frames uint64
	return func(context.Context) (update.Health, error) {
		mu.Lock()
		defer mu.Unlock()
		frames += 10
		return update.Health{State: "ready", Frames: frames, Inspected: frames}, nil
	}
}

func installer(t *testing.T, box *rauctest.Box) *update.Installer {
	return &update.Installer{Bus: box.Bus, History: update.OpenHistory(t.TempDir()), DownloadDir: t.TempDir()}
}

func dial(t *testing.T, box *rauctest.Box) *update.RAUC {
	t.Helper()
	r, err := update.Dial(context.Background(), box.Bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the RAUC connection", r) })
	return r
}

func outcomes(t *testing.T, h *update.History) []string {
	t.Helper()
	entries, err := h.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Outcome)
	}
	return out
}

func TestGoodBundleInstallsIntoInactiveSlotAndGateMarksItGood(t *testing.T) {
	rauctest.Require(t)
	keys := rauctest.NewKeys(t, "LineSight test")
	format := rauctest.Format(t)
	box := rauctest.NewBox(t, keys, format)
	rootfs := rauctest.RootFS(t, "2.0.0", 4<<20)
	bundle := rauctest.Bundle(t, rootfs, "2.0.0", format, keys)
	slotA, err := os.ReadFile(box.SlotA)
	if err != nil {
		t.Fatal(err)
	}

	in := installer(t, box)
	var steps []update.Progress
	entry, err := in.Install(context.Background(), update.Request{Source: bundle, User: "erin"}, func(p update.Progress) { steps = append(steps, p) })
	if err != nil {
		t.Fatal(err)
	}
	if entry.Outcome != update.OutcomeInstalled || entry.Version != "2.0.0" || entry.Slot != "rootfs.1" || entry.User != "erin" {
		t.Errorf("entry %+v", entry)
	}
	if len(steps) == 0 || steps[len(steps)-1].Percent != 100 {
		t.Errorf("progress %+v: want steps ending at 100%%", steps)
	}
	if _, whole := rauctest.Holds(t, box.SlotB, rootfs); !whole {
		t.Error("slot B does not hold the bundle's root file system")
	}
	if got, err := os.ReadFile(box.SlotA); err != nil {
		t.Fatal(err)
	} else if string(got) != string(slotA) {
		t.Error("the running slot A was written")
	}
	if p := box.BootState("primary"); p != "B" {
		t.Fatalf("the bootloader's primary is %q after the install, want B", p)
	}

	if slot := box.Reboot(); slot != "B" {
		t.Fatalf("booted %s, want B", slot)
	}
	// Before the gate, B is on trial: not good, an attempt spent.
	if s, n := box.BootState("state.B"), box.BootState("attempts.B"); s == "good" || n != "2" {
		t.Fatalf("B before the gate: state %q, %s attempts left; want not good, 2", s, n)
	}
	gated, err := update.Gate(context.Background(), dial(t, box), in.History, update.GateConfig{Timeout: time.Minute, Poll: 10 * time.Millisecond, Health: healthy()})
	if err != nil {
		t.Fatal(err)
	}
	if gated.Outcome != update.OutcomeGood || gated.Slot != "rootfs.1" || gated.Version != "2.0.0" {
		t.Errorf("gate entry %+v", gated)
	}
	if s := box.BootState("state.B"); s != "good" {
		t.Errorf("B after the gate: state %q, want good", s)
	}
	// Marked good, B keeps booting.
	for range 4 {
		if slot := box.Reboot(); slot != "B" {
			t.Fatalf("booted %s after B was marked good", slot)
		}
	}
	if got := strings.Join(outcomes(t, in.History), " "); got != "installed good" {
		t.Errorf("history %q, want installed good", got)
	}
}

// What RAUC says of a changed bundle. A plain bundle's signature covers
// the whole file. A verity bundle's signature covers its manifest, which
// holds the root hash of the payload's hash tree: dm-verity fails the
// first read of a changed block, here the bundle's own superblock, so
// mounting it fails.
var tamperedWant = map[string]string{"verity": "mounting bundle", "plain": "signature verification failed"}

func TestRefusedBundlesLeaveTheRunningSlot(t *testing.T) {
	rauctest.Require(t)
	keys := rauctest.NewKeys(t, "LineSight test")
	format := rauctest.Format(t)
	box := rauctest.NewBox(t, keys, format)
	rootfs := rauctest.RootFS(t, "2.0.0", 4<<20)
	good := rauctest.Bundle(t, rootfs, "2.0.0", format, keys)
	slotA, err := os.ReadFile(box.SlotA)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	tampered := t.TempDir() + "/tampered.raucb"
	changed := append([]byte(nil), raw...)
	changed[1000] ^= 0xff // in the first block: the bundle's squashfs superblock
	if err := os.WriteFile(tampered, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := t.TempDir() + "/truncated.raucb"
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	stranger := rauctest.Bundle(t, rootfs, "2.0.0", format, rauctest.NewKeys(t, "Someone else"))

	for _, c := range []struct {
		name, bundle, want string
	}{
		{"signed with another key", stranger, "signature verification failed: verify error: unable to get local issuer certificate"},
		{"tampered", tampered, tamperedWant[format]},
		{"truncated", truncated, "invalid bundle format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := installer(t, box)
			entry, err := in.Install(context.Background(), update.Request{Source: c.bundle, User: "erin"}, nil)
			if err == nil {
				t.Fatal("installed")
			}
			if !strings.Contains(err.Error(), "RAUC refused the bundle "+c.bundle) || !strings.Contains(strings.ToLower(err.Error()), c.want) {
				t.Errorf("error %q: want RAUC's refusal of %s saying %q", err, c.bundle, c.want)
			}
			if entry.Outcome != update.OutcomeRefused || entry.Error == "" {
				t.Errorf("entry %+v", entry)
			}
			if got := outcomes(t, in.History); len(got) != 1 || got[0] != update.OutcomeRefused {
				t.Errorf("history %v", got)
			}
			if got, err := os.ReadFile(box.SlotA); err != nil {
				t.Fatal(err)
			} else if string(got) != string(slotA) {
				t.Error("the running slot A was written")
			}
			if starts, _ := rauctest.Holds(t, box.SlotB, rootfs); starts {
				t.Error("slot B was written")
			}
			if p := box.BootState("primary"); p != "A" {
				t.Errorf("primary %q, want A", p)
			}
		})
	}
	if slot := box.Reboot(); slot != "A" {
		t.Errorf("booted %s after refused bundles, want A", slot)
	}
}

func TestFailedHealthGateFallsBackToTheOldSlot(t *testing.T) {
	rauctest.Require(t)
	keys := rauctest.NewKeys(t, "LineSight test")
	format := rauctest.Format(t)
	box := rauctest.NewBox(t, keys, format)
	bundle := rauctest.Bundle(t, rauctest.RootFS(t, "2.0.0", 4<<20), "2.0.0", format, keys)
	in := installer(t, box)
	if _, err := in.Install(context.Background(), update.Request{Source: bundle, User: "erin"}, nil); err != nil {
		t.Fatal(err)
	}
	// The new release boots but never gets ready: each boot's gate fails
	// and leaves B unmarked, until the bootloader's attempts run out.
	stuck := func(context.Context) (update.Health, error) { return update.Health{State: "starting"}, nil }
	var booted []string
	for range 4 {
		slot := box.Reboot()
		booted = append(booted, slot)
		if slot != "B" {
			break
		}
		_, err := update.Gate(context.Background(), dial(t, box), in.History, update.GateConfig{Timeout: 50 * time.Millisecond, Poll: 10 * time.Millisecond, Health: stuck})
		if !errors.Is(err, update.ErrGateFailed) || !strings.Contains(err.Error(), "starting, not ready") {
			t.Fatalf("gate on B: %v", err)
		}
	}
	if got := strings.Join(booted, " "); got != "B B B A" {
		t.Fatalf("boots %q: want three tries of B, then A", got)
	}
	if p, s := box.BootState("primary"), box.BootState("state.B"); p != "A" || s == "good" {
		t.Errorf("primary %q, B %q: want A, and B not good", p, s)
	}
	// Back on A, the gate passes and the history tells the rollback.
	gated, err := update.Gate(context.Background(), dial(t, box), in.History, update.GateConfig{Timeout: time.Minute, Poll: 10 * time.Millisecond, Health: healthy()})
	if err != nil {
		t.Fatal(err)
	}
	if gated.Slot != "rootfs.0" {
		t.Errorf("gate marked %s, want rootfs.0", gated.Slot)
	}
	want := "installed gate-failed gate-failed gate-failed rolled-back good"
	if got := strings.Join(outcomes(t, in.History), " "); got != want {
		t.Errorf("history %q, want %q", got, want)
	}
}

func TestPowerCutDuringInstallKeepsBootingTheActiveSlot(t *testing.T) {
	rauctest.Require(t)
	keys := rauctest.NewKeys(t, "LineSight test")
	format := rauctest.Format(t)
	box := rauctest.NewBox(t, keys, format)
	rootfs := rauctest.RootFS(t, "2.0.0", 96<<20)
	bundle := rauctest.Bundle(t, rootfs, "2.0.0", format, keys)
	slotA, err := os.ReadFile(box.SlotA)
	if err != nil {
		t.Fatal(err)
	}
	// The slot switch waits: the cut lands before it whatever the speed
	// of the disk. Slot B's first block shows the write has begun.
	box.Hold()
	in := installer(t, box)
	done := make(chan error, 1)
	// A killed service sends no Completed signal: the caller gives up.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, err := in.Install(ctx, update.Request{Source: bundle, User: "erin"}, nil)
		done <- err
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if starts, _ := rauctest.Holds(t, box.SlotB, rootfs); starts {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the install ended before the cut: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("RAUC did not start writing slot B")
		}
		time.Sleep(5 * time.Millisecond)
	}
	box.Kill()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the install reported success after its installer was killed")
	}
	_, whole := rauctest.Holds(t, box.SlotB, rootfs)
	t.Logf("killed with slot B written whole: %v", whole)
	box.Release()

	if slot := box.Reboot(); slot != "A" {
		t.Fatalf("booted %s after the cut, want A", slot)
	}
	if got, err := os.ReadFile(box.SlotA); err != nil {
		t.Fatal(err)
	} else if string(got) != string(slotA) {
		t.Error("the running slot A was written")
	}
	if s := box.BootState("state.B"); s == "good" {
		t.Error("the half-written slot B is marked good")
	}
	// The box is not stuck: the same bundle installs after the restart.
	if _, err := in.Install(context.Background(), update.Request{Source: bundle, User: "erin"}, nil); err != nil {
		t.Fatalf("install after the cut: %v", err)
	}
	if _, whole := rauctest.Holds(t, box.SlotB, rootfs); !whole || box.BootState("primary") != "B" {
		t.Error("the second install did not complete")
	}
}

// The dashboard's runner: one install at a time in the background, its
// progress kept, its outcome audited and in the history it shows; a bundle
// that is not there is refused at once.
func TestRunnerInstallsInTheBackground(t *testing.T) {
	rauctest.Require(t)
	keys := rauctest.NewKeys(t, "LineSight test")
	format := rauctest.Format(t)
	box := rauctest.NewBox(t, keys, format)
	bundle := rauctest.Bundle(t, rauctest.RootFS(t, "2.0.0", 4<<20), "2.0.0", format, keys)
	var mu sync.Mutex
	var audited []users.AuditEntry
	r := &update.Runner{Installer: installer(t, box), Log: slog.New(slog.DiscardHandler), Audit: func(e users.AuditEntry) {
		mu.Lock()
		audited = append(audited, e)
		mu.Unlock()
	}}
	if err := r.Start(context.Background(), t.TempDir()+"/none.raucb", "erik"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing bundle: %v", err)
	}
	if err := r.Start(context.Background(), bundle, "erik"); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), bundle, "ada"); !errors.Is(err, update.ErrInstallRunning) {
		t.Errorf("a second start while one runs: %v", err)
	}
	var st update.RunnerState
	testenv.WaitFor(t, "the install to end", func() bool {
		var err error
		st, err = r.State()
		return err == nil && !st.Running
	})
	if st.Last == nil || st.Last.Outcome != update.OutcomeInstalled || st.Last.Version != "2.0.0" || st.Progress.Percent != 100 {
		t.Errorf("state after the install: %+v (last %+v)", st, st.Last)
	}
	if len(st.History) != 1 || st.History[0].User != "erik" {
		t.Errorf("history %+v", st.History)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(audited) != 1 || audited[0].Action != "firmware.install" || audited[0].User != "erik" || !strings.Contains(audited[0].Detail, "installed, version 2.0.0") {
		t.Errorf("audited %+v", audited)
	}
}
