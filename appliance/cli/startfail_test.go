package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
)

// A start-up failure with the dashboard on logs the error and ends `linesight
// run` with exit 1, so a supervisor restarts it; the dashboard does not keep
// the process alive.
func TestRunExitsWhenStartFails(t *testing.T) {
	testenv.RequireORT(t)
	for _, c := range []struct {
		name string
		edit func(t *testing.T, bundle string)
		want string
	}{
		{"missing bundle", func(t *testing.T, b string) {
			if err := os.RemoveAll(b); err != nil {
				t.Fatal(err)
			}
		}, "no such file"},
		{"truncated model file", func(t *testing.T, b string) { truncateHalf(t, filepath.Join(b, "onnx", "text_model.onnx")) }, "text_model.onnx"},
		{"bad config.json", func(t *testing.T, b string) {
			if err := os.WriteFile(filepath.Join(b, "config.json"), []byte("{"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "config.json"},
		{"bad vocab", func(t *testing.T, b string) {
			if err := os.WriteFile(filepath.Join(b, "vocab.json"), []byte(`{"a": `), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "vocab.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfgPath, _ := kioskConfig(t, func(b string) { c.edit(t, b) })
			r := launchAppliance(t, cfgPath)
			code := r.wait(t, 2*time.Minute)
			if code == -1 {
				t.FailNow() // still running after a failed start
			}
			logs := r.Log.String()
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, c.want) {
				t.Errorf("log lacks an error naming %q:\n%s", c.want, logs)
			}
		})
	}
}

func truncateHalf(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// A damaged prompt-embedding cache is removed and built again; the
// appliance starts.
func TestRunRebuildsADamagedCache(t *testing.T) {
	testenv.RequireORT(t)
	for name, data := range map[string]func(sound []byte) []byte{
		"truncated": func(sound []byte) []byte { return sound[:5000] },
		"garbage": func(sound []byte) []byte {
			out := append([]byte(nil), sound...)
			for i := 2 * 4096; i < len(out); i++ { // every page after the meta pages
				out[i] = byte(i * 7)
			}
			return out
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfgPath, dataDir := kioskConfig(t, nil)
			// A first run makes a sound cache.
			r := startAppliance(t, cfgPath)
			if code := r.stop(t); code != 0 {
				t.Fatalf("first run exited %d", code)
			}
			cache := filepath.Join(dataDir, "text-embeddings.db")
			sound, err := os.ReadFile(cache)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cache, data(sound), 0o600); err != nil {
				t.Fatal(err)
			}

			r = startAppliance(t, cfgPath)
			if logs := r.Log.String(); !strings.Contains(logs, "text-embedding cache damaged") {
				t.Errorf("no log of the rebuilt cache:\n%s", logs)
			}
			if code := r.stop(t); code != 0 {
				t.Errorf("run exited %d:\n%s", code, r.Log.String())
			}
		})
	}
}

// The offline commands refuse a damaged prompt cache with what to do,
// instead of crashing in bbolt.
func TestInspectRefusesADamagedCache(t *testing.T) {
	testenv.RequireORT(t)
	cfgPath, _ := offlineConfig(t)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ds := t.TempDir()
	if err := synthetic.WriteDataset(ds, 1, 1); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(ds, synthetic.Washer, "test", "good", "000.png")
	mustRun(t, "", "inspect", "--config", cfgPath, img) // makes the cache
	cache := filepath.Join(cfg.DataDir, "text-embeddings.db")
	truncateHalf(t, cache)
	r := run(t, "", "inspect", "--config", cfgPath, img)
	if r.code != 1 || !strings.Contains(r.stder, "text-embedding cache") || !strings.Contains(r.stder, "damaged") {
		t.Errorf("exit %d:\n%s", r.code, r.stder)
	}
}
