// Package rauctest gives tests a box to update with the real RAUC: two
// slot images, a script standing for the bootloader (RAUC's custom
// backend), a private D-Bus with `rauc service` on it, and signing keys
// and bundles made by the repository's own scripts (firmware/rauc).
//
// RAUC mounts bundles through loop devices, so this needs root and
// /dev/loop-control (CI runs as root); elsewhere the test is skipped, or
// fails when LINESIGHT_REQUIRE_REFERENCE=1.
package rauctest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/update"
)

// Compatible is the test box's compatible string.
const Compatible = "linesight-test"

// Require skips the test, or fails it under LINESIGHT_REQUIRE_REFERENCE=1,
// when the tools or privileges RAUC needs are missing.
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"rauc", "dbus-daemon", "mksquashfs", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+" is not installed (firmware/install-deps.sh installs it)")
		}
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "RAUC mounts bundles on loop devices: needs root")
	} else if _, err := os.Stat("/dev/loop-control"); err != nil {
		missing = append(missing, "no loop devices (/dev/loop-control): "+err.Error())
	}
	if len(missing) == 0 {
		return
	}
	why := strings.Join(missing, "; ")
	if os.Getenv("LINESIGHT_REQUIRE_REFERENCE") == "1" {
		t.Fatalf("%s, and LINESIGHT_REQUIRE_REFERENCE=1", why)
	}
	t.Skip(why)
}

// Repo is the repository's root.
func Repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func script(name string) string { return filepath.Join(Repo(), "firmware", "rauc", name) }

// Keys is a signing chain made by firmware/rauc/dev-keys.sh.
type Keys struct{ CA, Cert, Key string }

// NewKeys makes a development CA and a signing certificate.
func NewKeys(t testing.TB, name string) Keys {
	t.Helper()
	dir := t.TempDir()
	run(t, script("dev-keys.sh"), dir, name)
	return Keys{CA: filepath.Join(dir, "ca.cert.pem"), Cert: filepath.Join(dir, "signing.cert.pem"), Key: filepath.Join(dir, "signing.key.pem")}
}

// RootFS writes a squashfs root file system holding a release file with
// version and size bytes of random data (which does not compress, so the
// image is about size bytes).
func RootFS(t testing.TB, version string, size int) string {
	t.Helper()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	must(t, os.MkdirAll(filepath.Join(tree, "usr/lib/linesight"), 0o755))
	must(t, os.WriteFile(filepath.Join(tree, "usr/lib/linesight/release"), []byte("LINESIGHT_VERSION="+version+"\n"), 0o644))
	payload := make([]byte, size)
	rand.Read(payload)
	must(t, os.WriteFile(filepath.Join(tree, "payload"), payload, 0o644))
	img := filepath.Join(dir, "rootfs.squashfs")
	run(t, "mksquashfs", tree, img, "-quiet", "-noappend", "-no-progress")
	return img
}

// Format is the bundle format the tests use: verity, as on the box, where
// the kernel has device-mapper (RAUC mounts verity bundles through
// dm-verity); plain elsewhere (containers often lack it), which RAUC checks
// by its signature over the whole file instead. Everything the tests show
// but the mount path is the same for both.
func Format(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/dev/mapper/control"); err == nil {
		return "verity"
	}
	t.Log("this kernel has no device-mapper (/dev/mapper/control): bundles in plain format")
	return "plain"
}

// Bundle signs a bundle of rootfs in format with firmware/rauc/make-bundle.sh.
func Bundle(t testing.TB, rootfs, version, format string, k Keys) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "update-"+version+"-"+format+".raucb")
	cmd := exec.Command(script("make-bundle.sh"), rootfs, version, k.Cert, k.Key, out)
	cmd.Env = append(os.Environ(), "COMPATIBLE="+Compatible, "FORMAT="+format)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-bundle.sh: %v\n%s", err, b)
	}
	return out
}

// Box is a device with slots A (rootfs.0, booted, good) and B (rootfs.1,
// empty), and RAUC serving on a private bus.
type Box struct {
	t     testing.TB
	Dir   string
	Bus   string // the D-Bus address RAUC serves on
	Conf  string // system.conf
	SlotA string
	SlotB string
	boot  string // the bootloader script
	mnt   string
	svc   *exec.Cmd
	done  chan struct{}
	log   string
}

// SlotSize is the size of each slot image.
const SlotSize = 256 << 20

// NewBox makes the box, with k.CA its keyring and format the one bundle
// format it accepts, and starts RAUC booted on A.
func NewBox(t testing.TB, k Keys, format string) *Box {
	t.Helper()
	// A short folder: a unix socket path holds at most 107 bytes.
	dir, err := os.MkdirTemp("", "rauc")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := &Box{t: t, Dir: dir, SlotA: filepath.Join(dir, "slot-a.img"), SlotB: filepath.Join(dir, "slot-b.img"),
		boot: filepath.Join(dir, "boot", "bootloader.sh"), mnt: filepath.Join(dir, "mnt"), log: filepath.Join(dir, "rauc.log")}
	must(t, os.MkdirAll(filepath.Join(dir, "boot"), 0o755))
	must(t, os.MkdirAll(b.mnt, 0o755))
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(filepath.Join(filepath.Dir(file), "bootloader.sh"))
	must(t, err)
	must(t, os.WriteFile(b.boot, src, 0o755))
	// Slot A holds the running release; B is blank.
	a := make([]byte, 1<<20)
	rand.Read(a)
	must(t, os.WriteFile(b.SlotA, a, 0o644))
	must(t, os.Truncate(b.SlotA, SlotSize))
	must(t, os.WriteFile(b.SlotB, nil, 0o644))
	must(t, os.Truncate(b.SlotB, SlotSize))
	b.writeBoot("primary", "A")
	b.writeBoot("state.A", "good")
	b.writeBoot("attempts.A", "3")

	b.Conf = filepath.Join(dir, "system.conf")
	conf := fmt.Sprintf(`[system]
compatible=%s
bootloader=custom
bundle-formats=%s
statusfile=%s

[handlers]
bootloader-custom-backend=%s

[keyring]
path=%s
check-purpose=codesign

[slot.rootfs.0]
device=%s
type=raw
bootname=A

[slot.rootfs.1]
device=%s
type=raw
bootname=B
`, Compatible, format, filepath.Join(dir, "status.raucs"), b.boot, k.CA, b.SlotA, b.SlotB)
	must(t, os.WriteFile(b.Conf, []byte(conf), 0o644))

	b.Bus = startBus(t, dir)
	b.Start("A")
	t.Cleanup(func() {
		b.stop(syscall.SIGTERM)
		if t.Failed() {
			if log, err := os.ReadFile(b.log); err == nil {
				t.Logf("rauc service log:\n%s", log)
			}
		}
	})
	return b
}

// startBus runs a dbus-daemon with a private configuration that lets
// anyone own and call anything (only this test connects to it).
func startBus(t testing.TB, dir string) string {
	t.Helper()
	conf := filepath.Join(dir, "bus.conf")
	must(t, os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o644))
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon gave no address: %v", err)
	}
	return strings.TrimSpace(line)
}

// Start runs `rauc service` as booted from slot bootname, and waits until
// it answers on the bus.
func (b *Box) Start(bootname string) {
	b.t.Helper()
	logf, err := os.OpenFile(b.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	must(b.t, err)
	defer logf.Close()
	fmt.Fprintf(logf, "--- rauc service booted from %s\n", bootname)
	cmd := exec.Command("rauc", "--conf="+b.Conf, "--mount="+b.mnt, "service", "--override-boot-slot="+bootname)
	// RAUC's own tests run it on a session bus: the variable says which.
	cmd.Env = append(os.Environ(), "DBUS_STARTER_BUS_TYPE=session", "DBUS_SESSION_BUS_ADDRESS="+b.Bus)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a SIGKILL takes the bootloader script too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(b.t, cmd.Start())
	b.svc, b.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(b.done)

	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := update.Dial(ctx, b.Bus)
		if err == nil {
			_, err = r.Status(ctx)
			r.Close()
		}
		cancel()
		if err == nil {
			return
		}
		select {
		case <-b.done:
			log, _ := os.ReadFile(b.log)
			b.t.Fatalf("rauc service exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("rauc service does not answer on %s: %v", b.Bus, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill ends RAUC and its children with SIGKILL, as a power cut would.
func (b *Box) Kill() { b.stop(syscall.SIGKILL) }

func (b *Box) stop(sig syscall.Signal) {
	if b.svc == nil {
		return
	}
	syscall.Kill(-b.svc.Process.Pid, sig)
	<-b.done
	b.svc = nil
}

// Reboot stops RAUC, lets the bootloader script pick the slot as at
// power-on, starts RAUC booted from it, and returns its bootname.
func (b *Box) Reboot() string {
	b.t.Helper()
	b.stop(syscall.SIGTERM)
	out, err := exec.Command(b.boot, "boot").Output()
	if err != nil {
		b.t.Fatalf("bootloader boot: %v", err)
	}
	slot := strings.TrimSpace(string(out))
	b.Start(slot)
	return slot
}

// BootState reads a file of the bootloader's state: primary, booted,
// state.A, attempts.B, ...
func (b *Box) BootState(name string) string {
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(b.boot), name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(raw))
}

func (b *Box) writeBoot(name, value string) {
	must(b.t, os.WriteFile(filepath.Join(filepath.Dir(b.boot), name), []byte(value+"\n"), 0o644))
}

// Hold makes the bootloader's set-primary wait until Release: an install
// cannot switch slots meanwhile.
func (b *Box) Hold() { b.writeBoot("hold", "") }

// Release lets set-primary go on.
func (b *Box) Release() { os.Remove(filepath.Join(filepath.Dir(b.boot), "hold")) }

// Holds says whether the slot image at path starts with the bytes of the
// file image, and whether all of image is there.
func Holds(t testing.TB, slot, image string) (starts, whole bool) {
	t.Helper()
	want, err := os.ReadFile(image)
	must(t, err)
	got, err := os.ReadFile(slot)
	must(t, err)
	if len(got) < len(want) {
		return false, false
	}
	return bytes.Equal(got[:4096], want[:4096]), bytes.Equal(got[:len(want)], want)
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
