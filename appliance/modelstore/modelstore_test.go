package modelstore

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
)

// tinyBundle writes a tiny random fp32 bundle of the given seed and
// returns its directory and digest.
func tinyBundle(t *testing.T, seed uint64) (string, string) {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = cfg.VisionConfig.ImageSize, cfg.VisionConfig.ImageSize, cfg.VisionConfig.ImageSize
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := bundlewrite.Write(dir, cfg, arch.RandomWeights(cfg, seed), tok, pre, bundlewrite.Options{}); err != nil {
		t.Fatal(err)
	}
	d, err := digestOf(dir, bundle.FP32)
	if err != nil {
		t.Fatal(err)
	}
	return dir, d
}

// tarBundle writes dir as a gzipped tar archive whose entries sit in one
// folder, as `tar czf model.tar.gz model/` makes them.
func tarBundle(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(dir), p)
		if err != nil {
			t.Fatal(err)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer testenv.Close(t, p, in)
		_, err = io.Copy(tw, in)
		return err
	})
	for _, c := range []io.Closer{tw, gz, f} {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func mustDigest(t *testing.T, s Store) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestInstallKeepsThePreviousAndRollsBack(t *testing.T) {
	first, d1 := tinyBundle(t, 1)
	second, d2 := tinyBundle(t, 2)
	s := Store{Path: filepath.Join(t.TempDir(), "model")}

	in, err := s.Install(first, d1)
	if err != nil {
		t.Fatal(err)
	}
	if in.Digest != d1 || in.Previous != "" || mustDigest(t, s) != d1 {
		t.Fatalf("first install: %+v, model at the path %s, want %s", in, mustDigest(t, s), d1)
	}
	if _, err := s.Rollback(); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("rollback with nothing before: %v, want ErrNoPrevious", err)
	}
	if _, err := s.Install(first, d1); !errors.Is(err, ErrAlreadyInstalled) {
		t.Fatalf("same bundle again: %v, want ErrAlreadyInstalled", err)
	}

	in, err = s.Install(tarBundle(t, second), d2)
	if err != nil {
		t.Fatal(err)
	}
	if in.Digest != d2 || in.Previous != d1 || mustDigest(t, s) != d2 {
		t.Fatalf("second install: %+v, model at the path %s", in, mustDigest(t, s))
	}
	if p, err := s.PreviousDigest(); err != nil || p != d1 {
		t.Fatalf("previous: %s %v, want %s", p, err, d1)
	}

	back, err := s.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest != d1 || back.Previous != d2 || mustDigest(t, s) != d1 {
		t.Fatalf("rollback: %+v, model at the path %s, want %s", back, mustDigest(t, s), d1)
	}
	// A second rollback undoes the first.
	if _, err := s.Rollback(); err != nil || mustDigest(t, s) != d2 {
		t.Fatalf("rollback of the rollback: %v, model %s, want %s", err, mustDigest(t, s), d2)
	}

	// A third bundle: the oldest is pruned, two are kept.
	third, d3 := tinyBundle(t, 3)
	if _, err := s.Install(third, d3); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(s.bundlesDir())
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, e := range entries {
		kept = append(kept, e.Name())
	}
	if len(kept) != 2 || !strings.Contains(strings.Join(kept, " "), bundle.Short(d2)) || !strings.Contains(strings.Join(kept, " "), bundle.Short(d3)) {
		t.Fatalf("kept bundles %v, want those of %s and %s only", kept, bundle.Short(d2), bundle.Short(d3))
	}
}

func TestInstallRefusesAWrongDigestAndLeavesTheModel(t *testing.T) {
	first, d1 := tinyBundle(t, 1)
	second, d2 := tinyBundle(t, 2)
	s := Store{Path: filepath.Join(t.TempDir(), "model")}
	if _, err := s.Install(first, d1); err != nil {
		t.Fatal(err)
	}

	// The publisher's digest is of another bundle.
	_, err := s.Install(second, d1)
	var mismatch *DigestMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != d2 || mismatch.Want != d1 {
		t.Fatalf("install with another bundle's digest: %v, want a DigestMismatchError", err)
	}

	// A model file changed after the digest was published.
	tampered, _ := tinyBundle(t, 2)
	model := filepath.Join(tampered, bundle.ModelDir, "vision_model.onnx")
	data, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(model, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Install(tampered, d2); !errors.As(err, &mismatch) {
		t.Fatalf("tampered bundle: %v, want a DigestMismatchError", err)
	}

	// A truncated archive.
	archive := tarBundle(t, second)
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.tar.gz")
	if err := os.WriteFile(cut, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Install(cut, d2); err == nil || !strings.Contains(err.Error(), "unpack") {
		t.Fatalf("truncated archive: %v, want an unpack error", err)
	}

	if mustDigest(t, s) != d1 {
		t.Fatalf("model at the path changed to %s after refused installs", mustDigest(t, s))
	}
	if _, err := s.PreviousDigest(); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("a refused install left a previous bundle: %v", err)
	}
	entries, err := os.ReadDir(s.bundlesDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d entries under %s after refused installs, want the installed bundle only", len(entries), s.bundlesDir())
	}
}

func TestInstallOverABundlePlacedByHand(t *testing.T) {
	first, d1 := tinyBundle(t, 1)
	second, d2 := tinyBundle(t, 2)
	s := Store{Path: filepath.Join(t.TempDir(), "model")}
	if err := os.Rename(first, s.Path); err != nil {
		t.Fatal(err)
	}
	in, err := s.Install(second, d2)
	if err != nil {
		t.Fatal(err)
	}
	if in.Previous != d1 || mustDigest(t, s) != d2 {
		t.Fatalf("install over a directory: %+v, model %s", in, mustDigest(t, s))
	}
	if st, err := os.Lstat(s.Path); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("%s is not a link after the install: %v", s.Path, err)
	}
	if _, err := s.Rollback(); err != nil || mustDigest(t, s) != d1 {
		t.Fatalf("rollback to the hand-placed bundle: %v", err)
	}
}

func TestArchiveEntriesStayInside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "evil.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	body := "x"
	if err := tw.WriteHeader(&tar.Header{Name: "../outside.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s := Store{Path: filepath.Join(t.TempDir(), "model")}
	_, err = s.Install(path, "sha256:"+strings.Repeat("0", 64))
	if err == nil || !strings.Contains(err.Error(), "outside the bundle") {
		t.Fatalf("archive entry outside: %v, want it refused", err)
	}
	if _, err := os.Stat(filepath.Join(s.bundlesDir(), "outside.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the entry was written outside: %v", err)
	}
}
