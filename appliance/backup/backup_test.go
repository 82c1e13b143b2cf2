package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/internal/testenv"
)

// appliance is a configuration directory with its data directory: the
// configuration, the defect classes, a users' store with one user, golden
// samples, a journal and an image.
func appliance(t *testing.T) Paths {
	t.Helper()
	dir := t.TempDir()
	p := Paths{Config: filepath.Join(dir, "linesight.yaml"), Defects: filepath.Join(dir, "classes.yaml"), DataDir: filepath.Join(dir, "data")}
	write(t, p.Config, "line: l1\ndata_dir: data\ndefects: classes.yaml\n")
	write(t, p.Defects, "classes: [scratch]\n")
	if err := os.MkdirAll(p.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	store, err := users.OpenStore(filepath.Join(p.DataDir, users.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddUser("ann", users.RoleAdmin, "first-password", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(p.DataDir, "golden", "cam0", "good1.png"), "png one")
	write(t, filepath.Join(p.DataDir, "golden", "cam0", "good2.png"), "png two")
	j, err := journal.Open(journal.Options{Dir: p.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(p.DataDir, journal.ImagesDir, "2026-01-02", "1-cam0.jpg"), "jpeg")
	return p
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot is every file under dir (the configuration's directory, so the
// data directory too) by relative name, with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			t.Fatal(err)
		}
		files[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func backupOf(t *testing.T, p Paths, withImages bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "backup.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(f, p, Options{WithImages: withImages, LineSight: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func diff(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: missing", name)
		} else if g != want[name] {
			t.Errorf("%s: %d bytes, not the %d expected", name, len(g), len(want[name]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: not expected", name)
		}
	}
}

func TestRestoreBringsBackWhatTheBackupHolds(t *testing.T) {
	for _, withImages := range []bool{false, true} {
		t.Run(map[bool]string{false: "without images", true: "with images"}[withImages], func(t *testing.T) {
			p := appliance(t)
			dir := filepath.Dir(p.Config)
			before := snapshot(t, dir)
			archive := backupOf(t, p, withImages)

			// What happens after the backup: a changed configuration and
			// classes, a new user, a golden sample more, a journal and an
			// image more, and the first admin's password file.
			write(t, p.Config, "line: l2\ndata_dir: data\ndefects: classes.yaml\n")
			write(t, p.Defects, "classes: [dent]\n")
			store, err := users.OpenStore(filepath.Join(p.DataDir, users.StoreFile))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.AddUser("bo", users.RoleOperator, "other-password", time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(p.DataDir, "golden", "cam0", "good3.png"), "png three")
			write(t, filepath.Join(p.DataDir, journal.ImagesDir, "2026-01-03", "2-cam0.jpg"), "jpeg 2")
			write(t, filepath.Join(p.DataDir, users.InitialPasswordFile), "secret")
			after := snapshot(t, dir)

			m, err := Restore(archive, p)
			if err != nil {
				t.Fatal(err)
			}
			if m.Format != Format || m.Version != Version || m.WithImages != withImages || m.LineSight != "test" {
				t.Errorf("manifest %+v", m)
			}
			want := maps.Clone(before)
			if !withImages {
				// The journal and its images are not in it: those of now stay.
				for name, content := range after {
					if strings.HasPrefix(name, filepath.Join("data", journal.FileName)) || strings.HasPrefix(name, filepath.Join("data", journal.ImagesDir)) {
						want[name] = content
					}
				}
			}
			diff(t, snapshot(t, dir), want)

			store, err = users.OpenStore(filepath.Join(p.DataDir, users.StoreFile))
			if err != nil {
				t.Fatal(err)
			}
			defer testenv.Close(t, "the user store", store)
			if _, err := store.User("bo"); !errors.Is(err, users.ErrUnknownUser) {
				t.Errorf("user added after the backup: %v, want gone", err)
			}
			if _, err := store.Authenticate("ann", "first-password"); err != nil {
				t.Errorf("user of the backup: %v", err)
			}
		})
	}
}

// rewrite copies the archive at src entry by entry, letting edit change
// each (or drop it, returning false), and returns the new archive's path.
func rewrite(t *testing.T, src string, edit func(h *tar.Header, body []byte) ([]byte, bool)) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the archive", in)
	gr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	tr := tar.NewReader(gr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		body, keep := edit(h, body)
		if !keep {
			continue
		}
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "edited.tar.gz")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRestoreRefusesABadBackupAndChangesNothing(t *testing.T) {
	p := appliance(t)
	good := backupOf(t, p, true)
	// The appliance moves on after the backup; a refused restore must
	// leave it exactly so.
	write(t, p.Defects, "classes: [dent]\n")
	write(t, filepath.Join(p.DataDir, "golden", "cam0", "good3.png"), "png three")
	dir := filepath.Dir(p.Config)
	before := snapshot(t, dir)

	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := func(n int) string {
		path := filepath.Join(t.TempDir(), "truncated.tar.gz")
		if err := os.WriteFile(path, raw[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cases := []struct {
		name, archive, want string
	}{
		{"truncated at a tenth", truncated(len(raw) / 10), "damaged or truncated"},
		{"truncated at half", truncated(len(raw) / 2), "damaged or truncated"},
		{"truncated by one byte", truncated(len(raw) - 1), "damaged or truncated"},
		{"empty", truncated(0), "not a LineSight backup"},
		{"a golden sample changed", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			if h.Name == "data/golden/cam0/good1.png" {
				b = []byte("png 1ne")
			}
			return b, true
		}), "data/golden/cam0/good1.png: sha256"},
		{"the users' store cut short", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			if h.Name == "data/"+users.StoreFile {
				b = b[:len(b)/2]
			}
			return b, true
		}), "data/web.db: "},
		{"a file dropped", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			return b, h.Name != defectsName
		}), "defects.yaml: listed in the manifest, missing from the archive"},
		{"a file slipped in", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			if h.Name == "data/golden/cam0/good2.png" {
				h.Name = "data/golden/cam0/extra.png"
			}
			return b, true
		}), "data/golden/cam0/extra.png: in the archive, not in the manifest"},
		{"a name outside the data", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			if h.Name == "data/golden/cam0/good2.png" {
				h.Name = "data/../../escaped"
			}
			return b, true
		}), `entry "data/../../escaped" is not a file a backup holds`},
		{"no manifest", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			return b, h.Name != ManifestName
		}), "no MANIFEST.json"},
		{"a newer version", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			if h.Name == ManifestName {
				var m Manifest
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				m.Version = Version + 1
				var err error
				if b, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			return b, true
		}), "version 2; this linesight reads versions 1 to 1"},
		{"the configuration changed", rewrite(t, good, func(h *tar.Header, b []byte) ([]byte, bool) {
			if h.Name == configName {
				b = []byte("line: l1\ndata_dir: /elsewhere\ndefects: classes.yaml\n")
			}
			return b, true
		}), "config.yaml: 52 bytes, the manifest says 46"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Restore(c.archive, p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing changed") {
				t.Fatalf("restore: %v\nwant a refusal saying %q and that nothing changed", err, c.want)
			}
			diff(t, snapshot(t, dir), before)
		})
	}
}

// A manifest made to match an altered configuration still may not put
// the data anywhere but where this appliance keeps it.
func TestRestoreRefusesAnotherDataDirectory(t *testing.T) {
	src := appliance(t)
	write(t, src.Config, "line: l1\ndata_dir: /srv/other\ndefects: classes.yaml\n")
	archive := backupOf(t, src, false)
	p := appliance(t)
	before := snapshot(t, filepath.Dir(p.Config))
	_, err := Restore(archive, p)
	if err == nil || !strings.Contains(err.Error(), "data_dir /srv/other") {
		t.Fatalf("restore of another data directory: %v", err)
	}
	diff(t, snapshot(t, filepath.Dir(p.Config)), before)
}

func TestBackupWithoutGoldenSamples(t *testing.T) {
	p := appliance(t)
	if err := os.RemoveAll(filepath.Join(p.DataDir, "golden")); err != nil {
		t.Fatal(err)
	}
	archive := backupOf(t, p, false)
	// Golden samples made after the backup stay: it had none to restore.
	write(t, filepath.Join(p.DataDir, "golden", "cam0", "new.png"), "png new")
	if _, err := Restore(archive, p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p.DataDir, "golden", "cam0", "new.png")); err != nil {
		t.Errorf("golden sample made after a backup without any: %v", err)
	}
}
