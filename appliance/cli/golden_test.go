package cli

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/localapi"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// goldenConfig writes a configuration whose set s has golden samples with
// threshold auto, and n PNG images; it returns the config and the images.
func goldenConfig(t *testing.T, n int) (cfg string, images []string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(filepath.Join(dir, "defects.yaml"), []byte("version: 1\nsets:\n  s:\n    good:\n      prompts: [\"good\"]\n      threshold: 0.5\n    defects:\n      - name: bad\n        prompts: [\"bad\"]\n        threshold: 0.5\n    anomaly: {golden: true, threshold: auto}\ncameras:\n  default: s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("line: l1\ndata_dir: data\ndefects: defects.yaml\nmodel:\n  bundle: m\ncameras:\n  - id: cam0\n    source: {kind: synthetic}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 40, 40))
		for j := range img.Pix {
			img.Pix[j] = uint8(j * (i + 1))
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "good"+string(rune('a'+i))+".png")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		images = append(images, p)
	}
	return cfg, images
}

func runGolden(t *testing.T, cmd func(context.Context, []string, Stdio) error, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := cmd(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), err
}

func TestGoldenCommandsWithTheApplianceStopped(t *testing.T) {
	cfg, imgs := goldenConfig(t, 2)
	out, err := runGolden(t, goldenAdd, "--config", cfg, "--set", "s", imgs[0], imgs[1])
	if err != nil || strings.Count(out, "added to set s as") != 2 {
		t.Fatalf("add: %v\n%s", err, out)
	}
	store := golden.NewStore(filepath.Join(filepath.Dir(cfg), "data"), nil)
	samples, err := store.List("s")
	if err != nil || len(samples) != 2 || samples[0].Source != golden.SourceFile || !strings.HasSuffix(samples[0].AddedBy, "(cli)") {
		t.Fatalf("store after add: %+v %v", samples, err)
	}
	// The store's rules, with the file named.
	if _, err := runGolden(t, goldenAdd, "--config", cfg, "--set", "s", imgs[0]); err == nil || !strings.Contains(err.Error(), imgs[0]) || !strings.Contains(err.Error(), "already a golden sample") {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := runGolden(t, goldenAdd, "--config", cfg, "--set", "nope", imgs[0]); err == nil || !strings.Contains(err.Error(), "not a class set") || !strings.Contains(err.Error(), "[s]") {
		t.Errorf("unknown set: %v", err)
	}
	if _, err := runGolden(t, goldenAdd, "--config", cfg, "--set", "s"); err == nil {
		t.Error("add without images succeeded")
	}
	out, err = runGolden(t, goldenList, "--config", cfg, "--set", "s")
	if err != nil || !strings.Contains(out, "set s: 2 golden samples, status stopped, threshold none (auto)") || !strings.Contains(out, samples[1].ID) {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, err := runGolden(t, goldenRemove, "--config", cfg, "--set", "s", samples[0].ID); err != nil || !strings.Contains(out, "removed") {
		t.Errorf("remove: %v %s", err, out)
	}
	if _, err := runGolden(t, goldenRemove, "--config", cfg, "--set", "s", samples[0].ID); err == nil || !strings.Contains(err.Error(), "has no sample") {
		t.Errorf("remove again: %v", err)
	}
	// check-config's findings for the set: one sample is too few for auto.
	c, err := loadConfigForTest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := goldenProblems(c.DataDir, c.Classes().Sets["s"]); len(p) != 1 || !strings.Contains(p[0], "auto needs at least 2 golden samples, the set has 1") {
		t.Errorf("one sample: %v", p)
	}
	if _, err := store.Remove("s", samples[1].ID); err != nil {
		t.Fatal(err)
	}
	if p := goldenProblems(c.DataDir, c.Classes().Sets["s"]); len(p) != 1 || !strings.Contains(p[0], "has no golden samples") {
		t.Errorf("no samples: %v", p)
	}
}

// With the appliance running, the commands go through its local API: the
// manager it runs sees the change and rebuilds, and its status is listed.
func TestGoldenCommandsWithTheApplianceRunning(t *testing.T) {
	cfg, imgs := goldenConfig(t, 2)
	c, err := loadConfigForTest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(journal.Options{Dir: c.DataDir, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the journal", j)
	m := golden.NewManager(golden.NewStore(c.DataDir, nil), nil, slog.New(slog.DiscardHandler))
	m.SetSets([]golden.SetConfig{{Name: "s", Anomaly: c.Classes().Sets["s"].Anomaly}})
	// No model yet: the bank waits, which the listing says.
	srv, err := localapi.Start(c.DataDir, localapi.Backend{Journal: j, Golden: m}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the local API", srv)

	out, err := runGolden(t, goldenAdd, "--config", cfg, "--set", "s", imgs[0], imgs[1])
	if err != nil || !strings.Contains(out, "the running appliance rebuilds") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if st, err := m.Status(); err != nil {
		t.Fatal(err)
	} else if len(st) != 1 || len(st[0].Samples) != 2 {
		t.Fatalf("manager after add: %+v", st)
	}
	out, err = runGolden(t, goldenList, "--config", cfg, "--set", "s")
	if err != nil || !strings.Contains(out, "status building") || !strings.Contains(out, "waiting for the model") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if _, err := runGolden(t, goldenAdd, "--config", cfg, "--set", "s", imgs[1]); err == nil || !strings.Contains(err.Error(), "the running appliance: add golden sample to set s") {
		t.Errorf("duplicate through the appliance: %v", err)
	}
	st, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	id := st[0].Samples[0].ID
	if _, err := runGolden(t, goldenRemove, "--config", cfg, "--set", "s", id); err != nil {
		t.Fatal(err)
	}
	if st, err := m.Status(); err != nil {
		t.Fatal(err)
	} else if len(st[0].Samples) != 1 {
		t.Errorf("manager after remove: %+v", st)
	}
	_ = defects.MaxGolden
}

func loadConfigForTest(path string) (*config.Config, error) { return config.LoadAppliance(path) }
