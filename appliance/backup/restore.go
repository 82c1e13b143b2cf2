package backup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
)

// Restore replaces what p names with the backup in the archive at src.
// It unpacks and checks the whole archive first (Unpack) in a staging
// folder inside the data directory; a backup that fails the check is
// refused and nothing is changed. Then each file and folder is swapped in
// by rename, the replaced ones set aside until all are in place and put
// back if one fails. The caller holds the data directory (datadir.Lock).
//
// What the backup holds replaces what is there: the configuration, the
// defect classes, the users' store with the first admin's password file
// (removed when the backup has none), the golden samples when the backup
// has them, and with images the journal and its images. Everything else
// in the data directory stays.
func Restore(src string, p Paths) (Manifest, error) {
	f, err := os.Open(src)
	if err != nil {
		return Manifest{}, fmt.Errorf("open the backup: %w", err)
	}
	defer f.Close()
	if err := os.MkdirAll(p.DataDir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("create the data directory: %w", err)
	}
	staging, err := os.MkdirTemp(p.DataDir, ".restore-")
	if err != nil {
		return Manifest{}, fmt.Errorf("prepare the restore: %w", err)
	}
	defer os.RemoveAll(staging)
	unpacked := filepath.Join(staging, "new")
	m, err := Unpack(f, unpacked)
	if err != nil {
		return m, fmt.Errorf("%s refused, nothing changed: %w", src, err)
	}
	moves, err := plan(m, unpacked, filepath.Join(staging, "old"), p)
	// The copies made beside the configuration and the defect classes are
	// gone once in place; any left (refused, undone) go now.
	defer func() {
		for _, mv := range moves {
			if mv.src != "" && !strings.HasPrefix(mv.src, staging+string(filepath.Separator)) {
				os.Remove(mv.src)
			}
		}
	}()
	if err != nil {
		return m, fmt.Errorf("%s refused, nothing changed: %w", src, err)
	}
	if err := commit(moves); err != nil {
		return m, err
	}
	return m, nil
}

// move replaces dst with src (nothing when src is ""), setting the old dst
// aside at old.
type move struct{ src, dst, old string }

// plan lists the moves of a restore. The configuration and the defect
// classes may live outside the data directory, on another file system:
// they are copied beside their destination first, so that committing is
// renames only.
func plan(m Manifest, unpacked, old string, p Paths) (moves []move, err error) {
	if err := os.MkdirAll(old, 0o700); err != nil {
		return nil, err
	}
	dest, err := destinations(filepath.Join(unpacked, configName), p)
	if err != nil {
		return nil, err
	}
	for _, file := range []struct{ name, dst string }{{configName, p.Config}, {defectsName, dest.Defects}} {
		staged := filepath.Join(unpacked, file.name)
		if _, err := os.Stat(staged); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if file.dst == "" {
			return moves, fmt.Errorf("the backup holds defect classes, but its configuration names no defects file to restore them to")
		}
		beside := filepath.Join(filepath.Dir(file.dst), "."+filepath.Base(file.dst)+".restore")
		if err := copyFile(staged, beside); err != nil {
			return moves, fmt.Errorf("prepare %s: %w", file.dst, err)
		}
		moves = append(moves, move{src: beside, dst: file.dst, old: beside + "-old"})
	}
	owned := map[string]bool{users.StoreFile: true, users.InitialPasswordFile: true}
	if m.WithImages {
		owned[journal.FileName], owned[journal.ImagesDir] = true, true
	}
	for _, part := range dataParts(true) {
		staged := filepath.Join(unpacked, "data", part)
		_, err := os.Stat(staged)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) && owned[part]:
			staged = "" // the backup says there was none: remove it
		case errors.Is(err, fs.ErrNotExist):
			continue // not in the backup: keep it
		default:
			return moves, err
		}
		moves = append(moves, move{src: staged, dst: filepath.Join(p.DataDir, part), old: filepath.Join(old, part)})
	}
	return moves, nil
}

// destinations reads the restored configuration's data_dir and defects,
// resolved as the appliance will resolve them next to p.Config. A backup
// of another data directory is refused: its files would land where the
// restored configuration does not look.
func destinations(configFile string, p Paths) (Paths, error) {
	raw, err := os.ReadFile(configFile)
	if err != nil {
		return Paths{}, err
	}
	restored, err := parsePaths(p.Config, raw)
	if err != nil {
		return Paths{}, fmt.Errorf("the backup's configuration: %w", err)
	}
	if filepath.Clean(restored.DataDir) != filepath.Clean(p.DataDir) {
		return Paths{}, fmt.Errorf("the backup's configuration has data_dir %s, this appliance's is %s: restore it where that configuration applies, or edit it", restored.DataDir, p.DataDir)
	}
	return restored, nil
}

// PathsOf reads where the configuration at path keeps things. It reads
// only those keys, without validating the rest, so a backup, a restore or
// a factory reset can run when the configuration is what needs repairing.
func PathsOf(path string) (Paths, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Paths{}, fmt.Errorf("read config: %w", err)
	}
	p, err := parsePaths(path, raw)
	if err != nil {
		return Paths{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// parsePaths resolves data_dir (default config.DefaultDataDir), defects
// and model.bundle against the directory of the configuration file name,
// as config.Load does.
func parsePaths(name string, raw []byte) (Paths, error) {
	var c struct {
		DataDir string `yaml:"data_dir"`
		Defects string `yaml:"defects"`
		Model   struct {
			Bundle string `yaml:"bundle"`
		} `yaml:"model"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return Paths{}, err
	}
	dir := filepath.Dir(name)
	abs := func(v string) string {
		if v != "" && !filepath.IsAbs(v) {
			return filepath.Join(dir, v)
		}
		return v
	}
	p := Paths{Config: name, Defects: abs(c.Defects), DataDir: abs(c.DataDir), Model: abs(c.Model.Bundle)}
	if p.DataDir == "" {
		p.DataDir = config.DefaultDataDir
	}
	return p, nil
}

// commit makes the moves, putting back what it replaced if one fails.
func commit(moves []move) error {
	var done []move
	undo := func(cause error) error {
		for i := len(done) - 1; i >= 0; i-- {
			mv := done[i]
			if mv.src != "" {
				os.Rename(mv.dst, mv.src)
			}
			os.Rename(mv.old, mv.dst)
		}
		return fmt.Errorf("restore failed and was undone: %w", cause)
	}
	for _, mv := range moves {
		if err := os.Rename(mv.dst, mv.old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return undo(fmt.Errorf("set %s aside: %w", mv.dst, err))
		}
		done = append(done, mv)
		if mv.src == "" {
			continue
		}
		if err := os.Rename(mv.src, mv.dst); err != nil {
			return undo(fmt.Errorf("put %s in place: %w", mv.dst, err))
		}
	}
	dirs := map[string]bool{}
	for _, mv := range moves {
		os.RemoveAll(mv.old)
		dirs[filepath.Dir(mv.dst)] = true
	}
	for dir := range dirs {
		if d, err := os.Open(dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}
