package modelstore

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// unpack copies the bundle at src, a directory or a tar archive, into dst
// and returns the bundle's root there: dst, or the single folder an
// archive holds the bundle in.
func unpack(src, dst string) (string, error) {
	st, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("read the bundle: %w", err)
	}
	if st.IsDir() {
		if err := copyTree(src, dst); err != nil {
			return "", fmt.Errorf("copy the bundle from %s: %w", src, err)
		}
	} else if err := untar(src, dst); err != nil {
		return "", fmt.Errorf("unpack %s: %w", src, err)
	}
	if _, err := os.Stat(filepath.Join(dst, bundle.ConfigFile)); err == nil {
		return dst, nil
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		return "", err
	}
	if len(entries) == 1 && entries[0].IsDir() {
		return filepath.Join(dst, entries[0].Name()), nil
	}
	return dst, nil
}

// copyTree copies the regular files and folders under src; anything else
// (links, devices) is refused, so an install never reaches outside the
// bundle.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			in, err := os.Open(path)
			if err != nil {
				return err
			}
			defer in.Close()
			return writeFile(target, in)
		default:
			return fmt.Errorf("%s is not a regular file or folder", path)
		}
	})
}

// untar unpacks a tar archive, gzipped or not. Entries must be regular
// files or folders with relative names inside the archive.
func untar(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not a complete tar archive: %w", err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("entry %q lies outside the bundle", h.Name)
		}
		target := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := writeFile(target, tr); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
			files++
		default:
			return fmt.Errorf("entry %q is not a regular file or folder", h.Name)
		}
	}
	if files == 0 {
		return errors.New("the archive holds no files")
	}
	return nil
}

func writeFile(path string, r io.Reader) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncTree flushes every file and folder under root to disk.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
