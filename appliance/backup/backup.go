// Package backup writes and restores a backup of an appliance's own data:
// its configuration, defect classes, users (with the audit log), golden
// samples, and on request the journal with its images.
//
// A backup is a gzipped tar archive. Its last entry is MANIFEST.json: the
// format, its version, and each file's name, size and sha256. A restore
// unpacks everything into a staging folder and checks it against the
// manifest before it replaces anything, so a damaged, truncated or altered
// archive is refused with the files in place untouched.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
)

// Format names the archive kind; Version is the manifest version this code
// writes and the newest it reads.
const (
	Format       = "linesight-backup"
	Version      = 1
	ManifestName = "MANIFEST.json"
)

// Names in the archive.
const (
	configName  = "config.yaml"
	defectsName = "defects.yaml"
	dataPrefix  = "data/"
	goldenDir   = "golden"
)

// Paths are where an appliance keeps what a backup holds: the values of
// its configuration.
type Paths struct {
	Config  string // the configuration file
	Defects string // the defect-class file; "" when the configuration names none
	DataDir string // data_dir
	// Model is model.bundle, which a backup does not hold (a model is
	// installed with `linesight model install`); a factory reset removes
	// it with the data directory when it lies there.
	Model string
}

// Manifest describes a backup.
type Manifest struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// LineSight is the version of the linesight that wrote it.
	LineSight string `json:"linesight"`
	// WithImages says the journal and its images are in it.
	WithImages bool   `json:"with_images"`
	Files      []File `json:"files"`
}

// File is one file of a backup.
type File struct {
	Name   string      `json:"name"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
	Mode   fs.FileMode `json:"mode"`
}

// Options choose what a backup holds.
type Options struct {
	// WithImages adds the journal and its images.
	WithImages bool
	// LineSight is the version recorded in the manifest.
	LineSight string
	// Now is the creation time recorded (time.Now when nil).
	Now func() time.Time
}

// dataParts are the names under data_dir a backup takes, with images or
// not. The first admin's password file goes with the users' store: a
// restored store whose admin must still change the generated password
// needs it.
func dataParts(withImages bool) []string {
	parts := []string{users.StoreFile, users.InitialPasswordFile, goldenDir}
	if withImages {
		parts = append(parts, journal.FileName, journal.ImagesDir)
	}
	return parts
}

// Create writes a backup of what p names to w. The caller holds the data
// directory (datadir.Lock), so the files do not change under it.
func Create(w io.Writer, p Paths, opts Options) (Manifest, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	m := Manifest{Format: Format, Version: Version, CreatedAt: now().UTC(), LineSight: opts.LineSight, WithImages: opts.WithImages}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	add := func(name, src string) error {
		f, err := addFile(tw, name, src)
		if err != nil {
			return fmt.Errorf("back up %s: %w", src, err)
		}
		m.Files = append(m.Files, f)
		return nil
	}
	if err := add(configName, p.Config); err != nil {
		return m, err
	}
	if p.Defects != "" {
		if err := add(defectsName, p.Defects); err != nil {
			return m, err
		}
	}
	for _, part := range dataParts(opts.WithImages) {
		src := filepath.Join(p.DataDir, part)
		st, err := os.Stat(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no golden samples yet, no first-admin file, ...
		}
		if err != nil {
			return m, fmt.Errorf("back up %s: %w", src, err)
		}
		if !st.IsDir() {
			if err := add(dataPrefix+part, src); err != nil {
				return m, err
			}
			continue
		}
		err = filepath.WalkDir(src, func(file string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s is not a regular file", file)
			}
			rel, err := filepath.Rel(p.DataDir, file)
			if err != nil {
				return err
			}
			return add(dataPrefix+filepath.ToSlash(rel), file)
		})
		if err != nil {
			return m, fmt.Errorf("back up %s: %w", src, err)
		}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	hdr := &tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(raw)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return m, fmt.Errorf("write the manifest: %w", err)
	}
	if _, err := tw.Write(raw); err != nil {
		return m, fmt.Errorf("write the manifest: %w", err)
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("write the backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return m, fmt.Errorf("write the backup: %w", err)
	}
	return m, nil
}

// addFile writes src into the archive as name and returns its entry.
func addFile(tw *tar.Writer, name, src string) (File, error) {
	f, err := os.Open(src)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	if !st.Mode().IsRegular() {
		return File{}, errors.New("not a regular file")
	}
	hdr := &tar.Header{Name: name, Mode: int64(st.Mode().Perm()), Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return File{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), f)
	if err != nil {
		return File{}, err
	}
	if n != st.Size() {
		return File{}, fmt.Errorf("it changed size while being read (%d bytes, then %d)", st.Size(), n)
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Mode: st.Mode().Perm()}, nil
}

// validName reports whether an archive name is one a backup holds: the
// configuration, the defect classes, or a relative path under data/ in
// one of the data parts.
func validName(name string) bool {
	if name == configName || name == defectsName || name == ManifestName {
		return true
	}
	rest, ok := strings.CutPrefix(name, dataPrefix)
	if !ok || rest == "" || path.Clean(rest) != rest || path.IsAbs(rest) || rest == ".." || strings.HasPrefix(rest, "../") {
		return false
	}
	top, _, _ := strings.Cut(rest, "/")
	for _, part := range dataParts(true) {
		if top == part {
			return true
		}
	}
	return false
}

// Unpack reads the archive from r into dir, checking it against its
// manifest: the format and version, every file listed there present with
// its size and sha256, and nothing else. It returns the manifest, or an
// error saying what is wrong; dir then holds a partial copy to remove.
func Unpack(r io.Reader, dir string) (Manifest, error) {
	var m Manifest
	gz, err := gzip.NewReader(r)
	if err != nil {
		return m, fmt.Errorf("not a LineSight backup (not gzip: %w)", err)
	}
	tr := tar.NewReader(gz)
	got := map[string]File{}
	var manifest []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("the archive is damaged or truncated: %w", err)
		}
		if manifest != nil {
			return m, fmt.Errorf("entry %q after the manifest: the manifest must come last", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg || !validName(hdr.Name) {
			return m, fmt.Errorf("entry %q is not a file a backup holds", hdr.Name)
		}
		if _, dup := got[hdr.Name]; dup {
			return m, fmt.Errorf("entry %q appears twice", hdr.Name)
		}
		if hdr.Name == ManifestName {
			if manifest, err = io.ReadAll(io.LimitReader(tr, 64<<20)); err != nil {
				return m, fmt.Errorf("the archive is damaged or truncated: read the manifest: %w", err)
			}
			continue
		}
		f, err := unpackFile(tr, hdr, filepath.Join(dir, filepath.FromSlash(hdr.Name)))
		if err != nil {
			return m, fmt.Errorf("the archive is damaged or truncated: entry %q: %w", hdr.Name, err)
		}
		got[hdr.Name] = f
	}
	// The gzip trailer (CRC and length) is checked when the stream ends.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return m, fmt.Errorf("the archive is damaged or truncated: %w", err)
	}
	if manifest == nil {
		return m, fmt.Errorf("no %s at the end of the archive: truncated, or not a LineSight backup", ManifestName)
	}
	dec := json.NewDecoder(strings.NewReader(string(manifest)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s: %w", ManifestName, err)
	}
	if m.Format != Format {
		return m, fmt.Errorf("%s: format %q, not %q", ManifestName, m.Format, Format)
	}
	if m.Version < 1 || m.Version > Version {
		return m, fmt.Errorf("%s: version %d; this linesight reads versions 1 to %d (a newer linesight wrote it?)", ManifestName, m.Version, Version)
	}
	return m, check(m, got)
}

// check compares the files found with those the manifest lists.
func check(m Manifest, got map[string]File) error {
	var problems []string
	listed := map[string]bool{}
	for _, want := range m.Files {
		listed[want.Name] = true
		f, ok := got[want.Name]
		switch {
		case !ok:
			problems = append(problems, want.Name+": listed in the manifest, missing from the archive")
		case f.Size != want.Size:
			problems = append(problems, fmt.Sprintf("%s: %d bytes, the manifest says %d", want.Name, f.Size, want.Size))
		case f.SHA256 != want.SHA256:
			problems = append(problems, fmt.Sprintf("%s: sha256 %s, the manifest says %s", want.Name, f.SHA256, want.SHA256))
		}
	}
	for name := range got {
		if !listed[name] {
			problems = append(problems, name+": in the archive, not in the manifest")
		}
	}
	if _, ok := got[configName]; !ok && len(problems) == 0 {
		problems = append(problems, "no configuration in the backup")
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("the backup does not match its manifest: %s", strings.Join(problems, "; "))
}

func unpackFile(r io.Reader, hdr *tar.Header, dst string) (File, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return File{}, err
	}
	mode := fs.FileMode(hdr.Mode).Perm()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return File{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, err
	}
	return File{Name: hdr.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Mode: mode}, nil
}
