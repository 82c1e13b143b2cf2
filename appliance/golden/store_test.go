package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

// testImage is a w x h PNG of noise from seed.
func testImage(t testing.TB, seed uint64, w, h int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fixedClock() func() time.Time {
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	return func() time.Time { at = at.Add(time.Second); return at }
}

func TestStoreAddListRemove(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir, fixedClock())
	if got, err := s.List("bolts"); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	pngData, jpgData := testImage(t, 1, 40, 48), testJPEG(t, 64, 32)
	a, err := s.Add("bolts", pngData, Origin{By: "ann", Source: SourceFile})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Add("bolts", jpgData, Origin{By: "bo", Source: SourceRecord, RecordID: 42})
	if err != nil {
		t.Fatal(err)
	}
	if a.File != a.ID+".png" || b.File != b.ID+".jpg" || len(a.ID) != 16 || !strings.HasPrefix(a.SHA256, a.ID) || b.RecordID != 42 || a.AddedBy != "ann" {
		t.Errorf("samples %+v %+v", a, b)
	}
	if a.ContentType() != "image/png" || b.ContentType() != "image/jpeg" {
		t.Errorf("content types %s %s", a.ContentType(), b.ContentType())
	}
	// A new store on the same folder (another process) sees them.
	list, err := NewStore(dir, nil).List("bolts")
	if err != nil || len(list) != 2 || list[0] != a || list[1] != b {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, data, err := s.Image("bolts", b.ID); err != nil || !bytes.Equal(data, jpgData) {
		t.Errorf("image: %d bytes, %v", len(data), err)
	}
	if img, err := s.Decode("bolts", a); err != nil || img.Bounds().Dx() != 40 {
		t.Errorf("decode: %v", err)
	}

	if _, err := s.Remove("bolts", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, Dir, "bolts", a.File)); !os.IsNotExist(err) {
		t.Errorf("removed sample's image: %v", err)
	}
	if _, err := s.Remove("bolts", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
	if _, _, err := s.Image("bolts", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("image of a removed sample: %v", err)
	}
	// Removed, it may come back.
	if _, err := s.Add("bolts", pngData, Origin{By: "ann", Source: SourceLive}); err != nil {
		t.Errorf("adding a removed image again: %v", err)
	}
}

func TestStoreRefusals(t *testing.T) {
	s := NewStore(t.TempDir(), fixedClock())
	good := testImage(t, 1, 40, 40)
	if _, err := s.Add("bolts", good, Origin{By: "ann", Source: SourceFile}); err != nil {
		t.Fatal(err)
	}
	truncated := good[:len(good)/2]
	for _, c := range []struct {
		name, set string
		data      []byte
		src       Source
		want      error
		words     string
	}{
		{"duplicate", "bolts", good, SourceFile, ErrDuplicate, "already a golden sample"},
		{"empty", "bolts", nil, SourceFile, ErrBadImage, "empty"},
		{"text", "bolts", []byte("hello, not an image"), SourceFile, ErrBadImage, "not a JPEG or PNG"},
		{"gif", "bolts", []byte("GIF89a......"), SourceFile, ErrBadImage, "not a JPEG or PNG"},
		{"truncated", "bolts", truncated, SourceFile, ErrBadImage, "decode png"},
		{"tiny", "bolts", testImage(t, 2, 8, 40), SourceFile, ErrBadImage, "8x40 pixels"},
		{"huge", "bolts", testImage(t, 3, MaxImageSide+1, 40), SourceFile, ErrBadImage, "8193x40 pixels"},
		{"too many bytes", "bolts", append(bytes.Clone(good), make([]byte, MaxImageBytes)...), SourceFile, ErrBadImage, "MiB"},
		{"set path", "../etc", testImage(t, 4, 40, 40), SourceFile, ErrBadSet, ""},
		{"hidden set", ".patches.db", testImage(t, 4, 40, 40), SourceFile, ErrBadSet, ""},
		{"source", "bolts", testImage(t, 4, 40, 40), "camera", nil, "unknown source"},
	} {
		_, err := s.Add(c.set, c.data, Origin{By: "ann", Source: c.src})
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.words) {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.want, c.words)
		}
	}
	// The corrupt image's bytes reach the decoder: a header alone is not
	// enough.
	if list, err := s.List("bolts"); err != nil {
		t.Fatal(err)
	} else if len(list) != 1 {
		t.Errorf("refusals changed the list: %+v", list)
	}
}

func TestStoreHoldsAtMostMaxGolden(t *testing.T) {
	s := NewStore(t.TempDir(), fixedClock())
	for i := range defects.MaxGolden {
		if _, err := s.Add("bolts", testImage(t, uint64(i), 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
			t.Fatalf("sample %d: %v", i+1, err)
		}
	}
	_, err := s.Add("bolts", testImage(t, 999, 32, 32), Origin{By: "ann", Source: SourceFile})
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "64 already") {
		t.Fatalf("sample 65: %v", err)
	}
	// Another set is not affected.
	if _, err := s.Add("nuts", testImage(t, 999, 32, 32), Origin{By: "ann", Source: SourceFile}); err != nil {
		t.Errorf("another set: %v", err)
	}
}

// A crash can stop an add after its image and before its manifest, or a
// write before its rename: the list is the old one, and the next change
// removes what no manifest names.
func TestStoreCrashLeavesTheOldList(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir, fixedClock())
	a, err := s.Add("bolts", testImage(t, 1, 40, 40), Origin{By: "ann", Source: SourceFile})
	if err != nil {
		t.Fatal(err)
	}
	setDir := filepath.Join(dir, Dir, "bolts")
	// What the crashes left.
	orphan := filepath.Join(setDir, "0123456789abcdef.png")
	temp := filepath.Join(setDir, ".tmp-12345")
	for _, p := range []string{orphan, temp} {
		if err := os.WriteFile(p, testImage(t, 7, 40, 40), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List("bolts")
	if err != nil || len(list) != 1 || list[0] != a {
		t.Fatalf("after the crash: %+v %v", list, err)
	}
	b, err := s.Add("bolts", testImage(t, 2, 40, 40), Origin{By: "ann", Source: SourceFile})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{orphan, temp} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s stays: %v", filepath.Base(p), err)
		}
	}
	entries, err := os.ReadDir(setDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	want := []string{lockFile, a.File, b.File, manifestFile}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("folder holds %v, want %v", names, want)
	}

	// A damaged manifest is reported with its path, not taken as empty.
	if err := os.WriteFile(filepath.Join(setDir, manifestFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List("bolts"); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("damaged manifest: %v", err)
	}
	if _, err := s.Add("bolts", testImage(t, 4, 40, 40), Origin{By: "ann", Source: SourceFile}); err == nil {
		t.Error("add over a damaged manifest succeeded: it would drop the samples it lists")
	}
}

func TestManifestFormat(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir, fixedClock())
	smp, err := s.Add("bolts", testImage(t, 1, 40, 40), Origin{By: "ann", Source: SourceRecord, RecordID: 7})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, Dir, "bolts", manifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Samples []map[string]any `json:"samples"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Samples) != 1 {
		t.Fatalf("manifest %s: %v", raw, err)
	}
	got := m.Samples[0]
	for k, want := range map[string]any{"id": smp.ID, "added_at": "2026-05-01T08:00:01Z", "added_by": "ann", "source": "record", "record_id": 7.0, "sha256": smp.SHA256, "file": smp.File} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}
