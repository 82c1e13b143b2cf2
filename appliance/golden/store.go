// Package golden keeps each class set's golden samples — images of good
// parts — and turns them into what the inspection loop compares frames
// with: the few-shot memory bank and the calibrated anomaly threshold
// (docs/anomaly.md).
//
// The images live in data_dir/golden/<set>/ beside a manifest; the patch
// tokens of each image are cached in a bbolt file, so a change to the list
// embeds only the new images, and a changed model rebuilds everything, in
// the background.
package golden

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/linesight/linesight/defects"
)

// Dir is the folder of the golden samples in the data directory.
const Dir = "golden"

// manifestFile lists a set's samples in its folder.
const manifestFile = "manifest.json"

// Limits on an image added as a golden sample.
const (
	MaxImageBytes = 32 << 20 // a sample is a camera frame, not an archive
	MinImageSide  = 32       // smaller says nothing about a part
	MaxImageSide  = 8192     // larger is no camera the appliance runs
)

// Source is where a sample came from.
type Source string

const (
	SourceFile   Source = "file"   // uploaded or given on the command line
	SourceLive   Source = "live"   // a camera's live frame
	SourceRecord Source = "record" // a journaled record's stored image
)

// Sample is one golden image of a set, as its manifest records it.
type Sample struct {
	ID       string    `json:"id"` // the first 16 hex digits of SHA256
	AddedAt  time.Time `json:"added_at"`
	AddedBy  string    `json:"added_by"`
	Source   Source    `json:"source"`
	RecordID uint64    `json:"record_id,omitempty"` // SourceRecord only
	SHA256   string    `json:"sha256"`              // of the image file's bytes
	File     string    `json:"file"`                // the image's name in the set's folder
}

// Origin says who adds a sample and from where.
type Origin struct {
	By       string
	Source   Source
	RecordID uint64
}

// Errors of the store; the messages that wrap them say what and why.
var (
	ErrNotFound  = errors.New("not found")
	ErrFull      = errors.New("the set has the most golden samples allowed")
	ErrDuplicate = errors.New("the image is already a golden sample of the set")
	ErrBadImage  = errors.New("not a usable image")
	ErrBadSet    = errors.New("not a class set of the defect-class file")
)

// HTTPStatus is the HTTP status an error of this package answers with,
// for the dashboard's API and the command line's local API alike: 400 for
// a bad image or set, 404 for an unknown sample, 409 for a full set or a
// duplicate, 500 otherwise.
func HTTPStatus(err error) int {
	switch {
	case errors.Is(err, ErrBadImage), errors.Is(err, ErrBadSet):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrFull), errors.Is(err, ErrDuplicate):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

type manifest struct {
	Samples []Sample `json:"samples"`
}

// Store is the golden samples of every set in one data directory. Its
// changes are serialised within the process and, through a lock file per
// set, with other processes (the command line while the appliance is
// stopped). Each change is written to a temporary file, synced and renamed
// into place, so a crash leaves the old list or the new, never a mix.
type Store struct {
	dir string
	now func() time.Time
	mu  sync.Mutex
}

// NewStore is the store of dataDir; it creates nothing until a sample is
// added.
func NewStore(dataDir string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{dir: filepath.Join(dataDir, Dir), now: now}
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// checkSetName refuses a name that is not one folder.
func checkSetName(set string) error {
	if set == "" || set != strings.TrimSpace(set) || strings.ContainsAny(set, "/\\\x00") || strings.HasPrefix(set, ".") || len(set) > 200 {
		return fmt.Errorf("set %q: %w", set, ErrBadSet)
	}
	return nil
}

func (s *Store) setDir(set string) string { return filepath.Join(s.dir, set) }

// List is a set's samples, oldest first; none for a set without a folder.
func (s *Store) List(set string) ([]Sample, error) {
	if err := checkSetName(set); err != nil {
		return nil, err
	}
	m, err := s.read(set)
	return m.Samples, err
}

func (s *Store) read(set string) (manifest, error) {
	var m manifest
	raw, err := os.ReadFile(filepath.Join(s.setDir(set), manifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("read the golden samples of set %s: %w", set, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("read the golden samples of set %s: %s is damaged: %w", set, filepath.Join(s.setDir(set), manifestFile), err)
	}
	return m, nil
}

// CheckImage decodes data as a JPEG or PNG within the size limits and
// returns its extension and size.
func CheckImage(data []byte) (ext string, size image.Point, err error) {
	if len(data) == 0 {
		return "", size, fmt.Errorf("%w: the image is empty", ErrBadImage)
	}
	if len(data) > MaxImageBytes {
		return "", size, fmt.Errorf("%w: %d bytes, more than the %d MiB allowed", ErrBadImage, len(data), MaxImageBytes>>20)
	}
	var cfg image.Config
	var decode func([]byte) error
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		ext = ".png"
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		decode = func(b []byte) error { _, err := png.Decode(bytes.NewReader(b)); return err }
	case bytes.HasPrefix(data, []byte("\xff\xd8")):
		ext = ".jpg"
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
		decode = func(b []byte) error { _, err := jpeg.Decode(bytes.NewReader(b)); return err }
	default:
		return "", size, fmt.Errorf("%w: not a JPEG or PNG file", ErrBadImage)
	}
	if err != nil {
		return "", size, fmt.Errorf("%w: %s header: %v", ErrBadImage, ext[1:], err)
	}
	// The size is checked before the pixels are decoded, so a small file
	// cannot claim a huge image.
	if cfg.Width < MinImageSide || cfg.Height < MinImageSide || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return "", size, fmt.Errorf("%w: %dx%d pixels; each side must be %d to %d", ErrBadImage, cfg.Width, cfg.Height, MinImageSide, MaxImageSide)
	}
	if err := decode(data); err != nil {
		return "", size, fmt.Errorf("%w: decode %s: %v", ErrBadImage, ext[1:], err)
	}
	return ext, image.Pt(cfg.Width, cfg.Height), nil
}

// Add stores data (a JPEG or PNG image) as a golden sample of set. It
// refuses a bad image, a set that has MaxGolden samples, and an image the
// set already has (the same bytes).
func (s *Store) Add(set string, data []byte, o Origin) (Sample, error) {
	if err := checkSetName(set); err != nil {
		return Sample{}, err
	}
	switch o.Source {
	case SourceFile, SourceLive, SourceRecord:
	default:
		return Sample{}, fmt.Errorf("add golden sample: unknown source %q", o.Source)
	}
	ext, _, err := CheckImage(data)
	if err != nil {
		return Sample{}, fmt.Errorf("add golden sample to set %s: %w", set, err)
	}
	sum := sha256.Sum256(data)
	smp := Sample{ID: hex.EncodeToString(sum[:8]), AddedAt: s.now().UTC(), AddedBy: o.By, Source: o.Source, SHA256: hex.EncodeToString(sum[:])}
	if o.Source == SourceRecord {
		smp.RecordID = o.RecordID
	}
	smp.File = smp.ID + ext

	unlock, err := s.lock(set)
	if err != nil {
		return Sample{}, err
	}
	defer unlock()
	m, err := s.read(set)
	if err != nil {
		return Sample{}, err
	}
	for _, old := range m.Samples {
		if old.SHA256 == smp.SHA256 {
			return Sample{}, fmt.Errorf("add golden sample to set %s: %w (sample %s, added %s by %s)", set, ErrDuplicate, old.ID, old.AddedAt.Format(time.RFC3339), old.AddedBy)
		}
	}
	if len(m.Samples) >= defects.MaxGolden {
		return Sample{}, fmt.Errorf("add golden sample to set %s: %w: %d already; remove one first", set, ErrFull, defects.MaxGolden)
	}
	// The image first, then the manifest that names it: a crash between
	// leaves an image no manifest names, which the next write removes.
	dir := s.setDir(set)
	if err := writeFileAtomic(filepath.Join(dir, smp.File), data); err != nil {
		return Sample{}, fmt.Errorf("add golden sample to set %s: %w", set, err)
	}
	m.Samples = append(m.Samples, smp)
	if err := s.writeManifest(set, m); err != nil {
		os.Remove(filepath.Join(dir, smp.File))
		return Sample{}, err
	}
	return smp, nil
}

// Remove takes sample id out of set and deletes its image.
func (s *Store) Remove(set, id string) (Sample, error) {
	if err := checkSetName(set); err != nil {
		return Sample{}, err
	}
	unlock, err := s.lock(set)
	if err != nil {
		return Sample{}, err
	}
	defer unlock()
	m, err := s.read(set)
	if err != nil {
		return Sample{}, err
	}
	i := slices.IndexFunc(m.Samples, func(x Sample) bool { return x.ID == id })
	if i < 0 {
		return Sample{}, fmt.Errorf("remove golden sample: set %s has no sample %q: %w", set, id, ErrNotFound)
	}
	smp := m.Samples[i]
	m.Samples = slices.Delete(m.Samples, i, i+1)
	// The manifest first: a crash after it leaves only an unnamed image.
	if err := s.writeManifest(set, m); err != nil {
		return Sample{}, err
	}
	if err := os.Remove(filepath.Join(s.setDir(set), smp.File)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return smp, fmt.Errorf("remove golden sample %s of set %s: the list no longer has it, but its image stays: %w", id, set, err)
	}
	return smp, nil
}

// Image is the image file of sample id of set.
func (s *Store) Image(set, id string) (Sample, []byte, error) {
	samples, err := s.List(set)
	if err != nil {
		return Sample{}, nil, err
	}
	i := slices.IndexFunc(samples, func(x Sample) bool { return x.ID == id })
	if i < 0 {
		return Sample{}, nil, fmt.Errorf("set %s has no golden sample %q: %w", set, id, ErrNotFound)
	}
	data, err := os.ReadFile(filepath.Join(s.setDir(set), samples[i].File))
	if err != nil {
		return samples[i], nil, fmt.Errorf("golden sample %s of set %s: %w", id, set, err)
	}
	return samples[i], data, nil
}

// Decode is sample smp's image.
func (s *Store) Decode(set string, smp Sample) (image.Image, error) {
	data, err := os.ReadFile(filepath.Join(s.setDir(set), smp.File))
	if err != nil {
		return nil, fmt.Errorf("golden sample %s of set %s: %w", smp.ID, set, err)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("golden sample %s of set %s: decode %s: %w", smp.ID, set, smp.File, err)
	}
	return img, nil
}

// ContentType is the media type of a sample's image.
func (smp Sample) ContentType() string {
	if strings.HasSuffix(smp.File, ".png") {
		return "image/png"
	}
	return "image/jpeg"
}

// writeManifest replaces set's manifest and removes the images it does not
// name (left by a crash between an image and its manifest).
func (s *Store) writeManifest(set string, m manifest) error {
	if m.Samples == nil {
		m.Samples = []Sample{}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	dir := s.setDir(set)
	if err := writeFileAtomic(filepath.Join(dir, manifestFile), append(raw, '\n')); err != nil {
		return fmt.Errorf("write the golden samples of set %s: %w", set, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // the manifest is written; tidying can wait
	}
	named := map[string]bool{manifestFile: true, lockFile: true}
	for _, smp := range m.Samples {
		named[smp.File] = true
	}
	for _, e := range entries {
		if !named[e.Name()] && !e.IsDir() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// lockFile serialises changes to a set between processes.
const lockFile = ".lock"

func (s *Store) lock(set string) (unlock func(), err error) {
	s.mu.Lock()
	dir := s.setDir(set)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("create the golden samples folder of set %s: %w", set, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("lock the golden samples of set %s: %w", set, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		s.mu.Unlock()
		return nil, fmt.Errorf("lock the golden samples of set %s: %w", set, err)
	}
	return func() { f.Close(); s.mu.Unlock() }, nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it,
// renames it to path and syncs the folder.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
