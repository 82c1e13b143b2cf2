// The package test: make deb with a stamped version, its control fields and
// contents read back with dpkg-deb, then installed with dpkg into a
// throwaway root (maintainer scripts included) and checked there: the
// binary and its version, the packaged ONNX Runtime library, the user, the
// data directory and the units, verified by systemd-analyze.
package deb

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/linesight/linesight/firmware/fwtest"
	"github.com/linesight/linesight/internal/testenv"
)

// version is what the test stamps: a tag, commits since it, a commit.
const (
	version    = "v9.8.7-6-gabcdef0"
	debVersion = "9.8.7+6.gabcdef0"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildDeb runs make deb into a directory of the test's and returns the .deb.
func buildDeb(t *testing.T) string {
	t.Helper()
	for _, tool := range [][2]string{{"make", "make"}, {"dpkg-deb", "dpkg"}, {"dpkg-shlibdeps", "dpkg-dev"}} {
		fwtest.Tool(t, tool[0], tool[1])
	}
	out := t.TempDir()
	got := run(t, repoRoot(t), nil, "make", "-s", "deb", "VERSION="+version,
		"BIN="+filepath.Join(out, "linesight"), "DEB_DIR="+out)
	deb := strings.TrimSpace(lastLine(got))
	if filepath.Base(deb) != "linesight_"+debVersion+"_"+arch(t)+".deb" {
		t.Fatalf("make deb made %q", got)
	}
	return deb
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func arch(t *testing.T) string {
	return strings.TrimSpace(run(t, "", nil, "dpkg", "--print-architecture"))
}

// depsGroup is one group of firmware/install-deps.sh --list.
func depsGroup(t *testing.T, group string) []string {
	t.Helper()
	return strings.Fields(run(t, repoRoot(t), nil, "./firmware/install-deps.sh", "--list", group))
}

var depName = regexp.MustCompile(`^\s*([a-z0-9][a-z0-9+.-]+)`)

func TestPackage(t *testing.T) {
	deb := buildDeb(t)

	field := func(name string) string {
		return strings.TrimSpace(run(t, "", nil, "dpkg-deb", "--field", deb, name))
	}
	if got := field("Package"); got != "linesight" {
		t.Errorf("Package: %q", got)
	}
	if got := field("Version"); got != debVersion {
		t.Errorf("Version: %q, want %q (from %s)", got, debVersion, version)
	}
	if got := field("Architecture"); got != arch(t) {
		t.Errorf("Architecture: %q, want %q", got, arch(t))
	}
	// Depends: the runtime libraries, every one in install-deps.sh's
	// runtime group, no test peer.
	var depends []string
	for _, d := range strings.Split(field("Depends"), ",") {
		m := depName.FindStringSubmatch(d)
		if m == nil {
			t.Fatalf("Depends: cannot read %q", d)
		}
		depends = append(depends, m[1])
	}
	runtime, tests := depsGroup(t, "runtime"), depsGroup(t, "test")
	for _, want := range []string{"libc6", "libopencv-core406", "libopencv-videoio406", "libstdc++6", "systemd"} {
		if !slices.Contains(depends, want) {
			t.Errorf("Depends lacks %s: %v", want, depends)
		}
	}
	for _, d := range depends {
		if !slices.Contains(runtime, d) {
			t.Errorf("Depends: %s is not in install-deps.sh's runtime group %v", d, runtime)
		}
		if slices.Contains(tests, d) {
			t.Errorf("Depends: %s is a test peer", d)
		}
	}
	for _, peer := range []string{"chromium", "python3-torch", "python3-pil", "mosquitto"} {
		if !slices.Contains(tests, peer) || slices.Contains(runtime, peer) {
			t.Errorf("install-deps.sh: %s should be a test peer, not a runtime package", peer)
		}
	}
	if got := field("Suggests"); got != "mosquitto" {
		t.Errorf("Suggests: %q, want mosquitto", got)
	}
	conffiles := strings.Fields(run(t, "", nil, "dpkg-deb", "--info", deb, "conffiles"))
	if !slices.Equal(conffiles, []string{"/etc/linesight/linesight.yaml", "/etc/linesight/classes.yaml"}) {
		t.Errorf("conffiles: %v", conffiles)
	}
	contents := map[string]string{} // path: mode and owner
	for _, line := range strings.Split(strings.TrimSpace(run(t, "", nil, "dpkg-deb", "--contents", deb)), "\n") {
		f := strings.Fields(line)
		contents[strings.TrimPrefix(f[len(f)-1], ".")] = f[0] + " " + f[1]
	}
	for path, want := range map[string]string{
		"/usr/bin/linesight":                                  "-rwxr-xr-x root/root",
		"/usr/lib/linesight/libonnxruntime.so.1":              "-rw-r--r-- root/root",
		"/usr/lib/systemd/system/linesight.service":           "-rw-r--r-- root/root",
		"/usr/lib/systemd/system/linesight-firstboot.service": "-rw-r--r-- root/root",
		"/usr/lib/sysusers.d/linesight.conf":                  "-rw-r--r-- root/root",
		"/usr/lib/tmpfiles.d/linesight.conf":                  "-rw-r--r-- root/root",
		"/etc/linesight/linesight.yaml":                       "-rw-r--r-- root/root",
		"/etc/linesight/classes.yaml":                         "-rw-r--r-- root/root",
		"/usr/share/doc/linesight/deploy.md":                  "-rw-r--r-- root/root",
	} {
		if got := contents[path]; got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	for path := range contents {
		if strings.Contains(path, "test") || strings.HasPrefix(path, "/usr/local/") {
			t.Errorf("the package holds %s", path)
		}
	}

	t.Run("installed", func(t *testing.T) { checkInstalled(t, deb) })
	t.Run("service", func(t *testing.T) { checkService(t, deb) })
}

// installRoot installs deb with dpkg into an empty root: dpkg's database
// there has none of the Depends (the host's libraries serve), and the
// maintainer scripts run outside it with $DPKG_ROOT.
func installRoot(t *testing.T, deb string) string {
	t.Helper()
	dpkg := fwtest.Tool(t, "dpkg", "dpkg")
	for _, tool := range [][2]string{{"systemd-sysusers", "systemd"}, {"systemd-tmpfiles", "systemd"}, {"systemctl", "systemd"}} {
		fwtest.Tool(t, tool[0], tool[1])
	}
	if os.Getuid() != 0 {
		if os.Getenv("LINESIGHT_REQUIRE_REFERENCE") == "1" {
			t.Fatal("installing a package into a root needs root, and LINESIGHT_REQUIRE_REFERENCE=1")
		}
		t.Skip("installing a package into a root needs root (dpkg sets owners)")
	}
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "", nil, dpkg, "--root="+root, "--force-script-chrootless", "--force-depends", "--install", deb)
	return root
}

// passwd returns the root's account line for name, split at colons.
func passwd(t *testing.T, file, name string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, file, f)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Split(sc.Text(), ":"); fields[0] == name {
			return fields
		}
	}
	t.Fatalf("%s has no %s", file, name)
	return nil
}

func checkInstalled(t *testing.T, deb string) {
	root := installRoot(t, deb)
	bin := filepath.Join(root, "usr/bin/linesight")

	if got := run(t, "", nil, bin, "version"); got != "linesight "+version+"\n" {
		t.Errorf("installed linesight version: %q, want %q", got, "linesight "+version)
	}

	// The packaged ONNX Runtime library runs a model.
	model := filepath.Join(t.TempDir(), "model")
	run(t, "", nil, bin, "model", "synth", "--preset", "tiny", "--seed", "1", "--out", model)
	ort := []string{"LINESIGHT_ORT_LIB=" + filepath.Join(root, "usr/lib/linesight/libonnxruntime.so.1")}
	if out := run(t, "", ort, bin, "model", "embed", "--bundle", model, "--text", "a part"); !strings.Contains(out, "[") {
		t.Errorf("model embed with the packaged ONNX Runtime: %s", out)
	}

	// The user, in the video group; the data directory its own.
	user := passwd(t, filepath.Join(root, "etc/passwd"), "linesight")
	if user[5] != "/var/lib/linesight" || !strings.HasSuffix(user[6], "nologin") {
		t.Errorf("linesight account: %v, want home /var/lib/linesight and no login shell", user)
	}
	if uid, err := strconv.Atoi(user[2]); err != nil {
		t.Errorf("linesight uid %q: %v", user[2], err)
	} else if uid >= 1000 || uid == 0 {
		t.Errorf("linesight uid %d, want a system user", uid)
	}
	video := passwd(t, filepath.Join(root, "etc/group"), "video")
	if !slices.Contains(strings.Split(video[3], ","), "linesight") {
		t.Errorf("video group: %v, want linesight in it", video)
	}
	st, err := os.Stat(filepath.Join(root, "var/lib/linesight"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)); uid != user[2] || st.Mode().Perm() != 0o750 {
		t.Errorf("/var/lib/linesight: owner %s mode %v, want linesight (%s) 0750", uid, st.Mode().Perm(), user[2])
	}

	// Enabled at boot, and the installed units verify.
	for _, u := range []string{"linesight.service", "linesight-firstboot.service"} {
		if _, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants", u)); err != nil {
			t.Errorf("%s not enabled: %v", u, err)
		}
	}
	fwtest.AddSystemdUnits(t, root)
	fwtest.Verify(t, root, "linesight.service", "linesight-firstboot.service")

	// The default configuration is one the appliance accepts but for the
	// model, which the box gets separately.
	out, err := exec.Command(bin, "check-config", filepath.Join(root, "etc/linesight/linesight.yaml")).CombinedOutput()
	if problems := strings.Split(strings.TrimSpace(string(out)), "\n"); err == nil || len(problems) != 2 || !strings.Contains(problems[0], "model.bundle") {
		t.Errorf("check-config of the default configuration: %v\n%s", err, out)
	}

	// Removed: the files and the units go, the data stays.
	run(t, "", nil, "dpkg", "--root="+root, "--force-script-chrootless", "--remove", "linesight")
	for _, gone := range []string{"usr/bin/linesight", "etc/systemd/system/multi-user.target.wants/linesight.service"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); err == nil {
			t.Errorf("/%s left after removal", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/linesight")); err != nil {
		t.Errorf("the data directory went with the package: %v", err)
	}
}

// checkService installs the package on this machine and starts the
// service: that needs systemd as PID 1 and consent to change the machine.
func checkService(t *testing.T, deb string) {
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil {
		t.Fatal(err)
	}
	if pid1 := strings.TrimSpace(string(comm)); pid1 != "systemd" {
		t.Skipf("starting the service needs systemd as PID 1; PID 1 here is %q (a container)", pid1)
	}
	if os.Getenv("LINESIGHT_DEB_HOST_INSTALL") != "1" || os.Getuid() != 0 {
		t.Skip("systemd is PID 1, but the service test installs the package on this machine: run it as root with LINESIGHT_DEB_HOST_INSTALL=1")
	}
	run(t, "", []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", "install", "-y", "--no-install-recommends", deb)
	t.Cleanup(func() {
		undo := func(name string, arg ...string) {
			if out, err := exec.Command(name, arg...).CombinedOutput(); err != nil {
				t.Errorf("cleaning up: %s %s: %v\n%s", name, strings.Join(arg, " "), err, out)
			}
		}
		undo("systemctl", "stop", "linesight.service")
		undo("dpkg", "--purge", "linesight")
		for _, dir := range []string{"/run/systemd/system/linesight.service.d", "/run/linesight-test"} {
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("cleaning up: %v", err)
			}
		}
		undo("systemctl", "daemon-reload")
	})
	// A synthetic camera and a generated model instead of the box's.
	run(t, "", nil, "/usr/bin/linesight", "model", "synth", "--preset", "tiny", "--seed", "1", "--out", "/var/lib/linesight/model")
	run(t, "", nil, "chown", "-R", "linesight:linesight", "/var/lib/linesight/model")
	cfg := "line: l1\ndata_dir: /var/lib/linesight\ndefects: /etc/linesight/classes.yaml\nmodel: {bundle: /var/lib/linesight/model, threads: 1}\n" +
		"cameras:\n  - {id: cam0, mode: triggered, source: {kind: synthetic, width: 64, height: 48, fps: 5, seed: 1}}\nweb: {listen: \"127.0.0.1:0\"}\n"
	for path, data := range map[string]string{
		"/run/linesight-test/linesight.yaml":                cfg,
		"/run/systemd/system/linesight.service.d/test.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/linesight run --config /run/linesight-test/linesight.yaml\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "", nil, "systemctl", "daemon-reload")
	// Type=notify: start returns once READY=1 came, after the warm-up.
	run(t, "", nil, "systemctl", "start", "linesight.service")
	show := run(t, "", nil, "systemctl", "show", "linesight.service", "-p", "ActiveState", "-p", "SubState", "-p", "StatusText")
	if !strings.Contains(show, "ActiveState=active") || !strings.Contains(show, "StatusText=inspecting") {
		t.Errorf("after start:\n%s", show)
	}
	st, err := os.Stat("/var/lib/linesight/initial-admin-password")
	if err != nil || st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("first boot's password file: %v %v", st, err)
	}
	run(t, "", nil, "systemctl", "stop", "linesight.service")
}
