// Package modelstore installs model bundles at the configured model path
// (model.bundle) and rolls them back, apart from the firmware.
//
// The configured path is a symbolic link to a bundle kept under
// PATH.bundles/, named by its digest; PATH.previous links to the bundle
// it replaced. An install copies the new bundle into a staging folder
// there, checks its digest against the one the publisher gave, and only
// then turns the link by renaming a new link over it: a reader of PATH, or
// a power cut, sees the old bundle or the new one, never a mix. A
// rollback turns the two links round the same way.
package modelstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// Suffixes of the names beside the configured path.
const (
	bundlesSuffix  = ".bundles"
	previousSuffix = ".previous"
	stagingPrefix  = ".staging-"
)

// Store is the model path of one appliance.
type Store struct {
	// Path is the configured model bundle path (model.bundle).
	Path string
	// Variant is the variant whose digest is checked and reported
	// (model.variant; fp32 when empty).
	Variant string
}

// Installed describes a change of the model.
type Installed struct {
	// Digest is the bundle now at Path; Previous the one kept for rollback
	// ("" when there is none).
	Digest, Previous string
	// Dir is where the bundle now at Path is kept.
	Dir string
}

// ErrAlreadyInstalled means the bundle is the one at Path already.
var ErrAlreadyInstalled = errors.New("this bundle is the installed one already")

// ErrNoPrevious means there is no bundle to roll back to.
var ErrNoPrevious = errors.New("no previous model bundle to roll back to")

// DigestMismatchError is an install refused because the bundle is not the
// one the publisher described.
type DigestMismatchError struct {
	Variant, Got, Want string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("the bundle's %s digest is %s, not the expected %s: it was changed or damaged on the way", e.Variant, e.Got, e.Want)
}

func (s Store) variant() string {
	if s.Variant == "" {
		return bundle.FP32
	}
	return s.Variant
}

func (s Store) bundlesDir() string   { return s.Path + bundlesSuffix }
func (s Store) previousLink() string { return s.Path + previousSuffix }

// Digest is the digest of the bundle at Path.
func (s Store) Digest() (string, error) { return digestOf(s.Path, s.variant()) }

// PreviousDigest is the digest of the bundle kept for rollback.
func (s Store) PreviousDigest() (string, error) {
	if _, err := os.Lstat(s.previousLink()); err != nil {
		return "", ErrNoPrevious
	}
	return digestOf(s.previousLink(), s.variant())
}

func digestOf(dir, variant string) (string, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return "", err
	}
	return b.Digest(variant)
}

// Install copies the bundle at src (a bundle directory, or a tar archive
// of one, gzipped or not) into the store, checks that the digest of the
// store's variant is want, and makes it the bundle at Path, keeping the
// one it replaces for Rollback. Nothing at Path changes unless every check
// passed and the copy is on disk.
func (s Store) Install(src, want string) (Installed, error) {
	if !strings.HasPrefix(want, "sha256:") || len(want) != len("sha256:")+64 {
		return Installed{}, fmt.Errorf("expected digest %q: want sha256: and 64 hex digits, as `linesight model digest` prints", want)
	}
	if err := os.MkdirAll(s.bundlesDir(), 0o755); err != nil {
		return Installed{}, fmt.Errorf("prepare %s: %w", s.bundlesDir(), err)
	}
	s.clearStaging()
	staging, err := os.MkdirTemp(s.bundlesDir(), stagingPrefix)
	if err != nil {
		return Installed{}, fmt.Errorf("prepare staging: %w", err)
	}
	defer os.RemoveAll(staging)
	root, err := unpack(src, staging)
	if err != nil {
		return Installed{}, err
	}
	got, err := digestOf(root, s.variant())
	if err != nil {
		return Installed{}, fmt.Errorf("check %s: %w", src, err)
	}
	if got != want {
		return Installed{}, &DigestMismatchError{Variant: s.variant(), Got: got, Want: want}
	}
	current, _ := s.Digest()
	if current == got {
		return Installed{}, ErrAlreadyInstalled
	}
	if err := syncTree(root); err != nil {
		return Installed{}, fmt.Errorf("write the bundle to disk: %w", err)
	}
	name := bundle.Short(got)
	kept := filepath.Join(s.bundlesDir(), name)
	if err := os.RemoveAll(kept); err != nil { // a bundle of the same digest left from before
		return Installed{}, fmt.Errorf("replace %s: %w", kept, err)
	}
	if err := os.Rename(root, kept); err != nil {
		return Installed{}, fmt.Errorf("keep the bundle: %w", err)
	}
	if err := syncDir(s.bundlesDir()); err != nil {
		return Installed{}, err
	}
	oldTarget, err := s.detachCurrent(current)
	if err != nil {
		return Installed{}, err
	}
	if err := relink(s.Path, s.linkTo(name)); err != nil {
		return Installed{}, err
	}
	if oldTarget != "" {
		if err := relink(s.previousLink(), oldTarget); err != nil {
			return Installed{}, err
		}
	}
	s.prune(name, filepath.Base(oldTarget))
	return Installed{Digest: got, Previous: current, Dir: kept}, nil
}

// Rollback makes the previous bundle the one at Path, and the one at Path
// the previous: a second rollback undoes the first.
func (s Store) Rollback() (Installed, error) {
	prev, err := os.Readlink(s.previousLink())
	if err != nil {
		return Installed{}, ErrNoPrevious
	}
	cur, err := os.Readlink(s.Path)
	if err != nil {
		return Installed{}, fmt.Errorf("%s is not a link installed by `linesight model install`: %w", s.Path, err)
	}
	prevDigest, err := digestOf(s.previousLink(), s.variant())
	if err != nil {
		return Installed{}, fmt.Errorf("check the previous bundle: %w", err)
	}
	curDigest, _ := s.Digest()
	if err := relink(s.Path, prev); err != nil {
		return Installed{}, err
	}
	if err := relink(s.previousLink(), cur); err != nil {
		return Installed{}, err
	}
	return Installed{Digest: prevDigest, Previous: curDigest, Dir: filepath.Join(filepath.Dir(s.Path), prev)}, nil
}

// linkTo is the relative target of a link beside Path to a kept bundle, so
// the data directory may be mounted elsewhere.
func (s Store) linkTo(name string) string {
	return filepath.Join(filepath.Base(s.bundlesDir()), name)
}

// detachCurrent returns the target the previous link should get: the
// current link's target, or, when Path is a bundle directory placed by
// hand, that directory after moving it under the store (swapped for a
// link to it in one step, so Path never goes missing).
func (s Store) detachCurrent(digest string) (string, error) {
	st, err := os.Lstat(s.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("inspect %s: %w", s.Path, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return os.Readlink(s.Path)
	case !st.IsDir():
		return "", fmt.Errorf("%s is a file, not a model bundle: move it away first", s.Path)
	}
	name := "unverified-" + time.Now().UTC().Format("20060102T150405")
	if digest != "" {
		name = bundle.Short(digest)
	}
	kept := filepath.Join(s.bundlesDir(), name)
	if err := os.RemoveAll(kept); err != nil {
		return "", fmt.Errorf("replace %s: %w", kept, err)
	}
	link := s.Path + ".link"
	os.Remove(link)
	if err := os.Symlink(s.linkTo(name), link); err != nil {
		return "", fmt.Errorf("link %s: %w", s.Path, err)
	}
	// Exchange the directory and the link: Path is the link now, and the
	// old directory is at the link's name, from where it moves under the
	// store. The link points at it from the moment it arrives there.
	if err := unix.Renameat2(unix.AT_FDCWD, link, unix.AT_FDCWD, s.Path, unix.RENAME_EXCHANGE); err != nil {
		os.Remove(link)
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
			return "", fmt.Errorf("swap %s for a link: %w", s.Path, err)
		}
		// A file system without the exchange: move the directory, then
		// put the link in its place (Path is missing in between).
		if err := os.Rename(s.Path, kept); err != nil {
			return "", fmt.Errorf("move %s under %s: %w", s.Path, s.bundlesDir(), err)
		}
		return s.linkTo(name), syncDir(filepath.Dir(s.Path))
	}
	if err := os.Rename(link, kept); err != nil {
		return "", fmt.Errorf("move the old bundle under %s: %w", s.bundlesDir(), err)
	}
	return s.linkTo(name), syncDir(filepath.Dir(s.Path))
}

// relink points the link at path to target, replacing it in one rename.
func relink(path, target string) error {
	tmp := path + ".link"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("link %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// prune removes the kept bundles that are neither current nor previous.
func (s Store) prune(keep ...string) {
	entries, err := os.ReadDir(s.bundlesDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, stagingPrefix) {
			continue
		}
		kept := false
		for _, k := range keep {
			kept = kept || k == name
		}
		if !kept {
			os.RemoveAll(filepath.Join(s.bundlesDir(), name))
		}
	}
}

// clearStaging removes what an interrupted install left.
func (s Store) clearStaging() {
	entries, _ := os.ReadDir(s.bundlesDir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stagingPrefix) {
			os.RemoveAll(filepath.Join(s.bundlesDir(), e.Name()))
		}
	}
}
