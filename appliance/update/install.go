package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Installer installs bundles with RAUC and records each attempt. The
// running appliance (for `linesight update install` and the dashboard) and
// the command line (when no appliance runs) both use it.
type Installer struct {
	// Bus is the D-Bus address where RAUC runs; "" for the system bus.
	Bus string
	// History gets an entry per attempt.
	History *History
	// DownloadDir holds a bundle fetched from a URL while it is installed
	// (on the data partition: the root slots are read-only).
	DownloadDir string
	// MaxDownload bounds a downloaded bundle (DefaultMaxDownload when 0).
	MaxDownload int64
	// HTTP fetches URLs (http.DefaultClient when nil).
	HTTP *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// DownloadFolder is where, in the data directory, a bundle fetched from a URL
// waits while it is installed (the root slots are read-only).
const DownloadFolder = "downloads"

// DefaultMaxDownload bounds a bundle fetched from a URL: two slots' worth.
const DefaultMaxDownload = 2 << 30

// Request is one installation: a bundle's path or http(s) URL, and who asks.
type Request struct {
	Source string
	User   string
}

// Install fetches the bundle when it is a URL, has RAUC check and install
// it, and records the outcome in the history, which it returns. A refused
// or failed bundle is an error, recorded as well.
func (in *Installer) Install(ctx context.Context, req Request, onProgress func(Progress)) (Entry, error) {
	entry := Entry{User: req.User, Source: req.Source}
	finish := func(outcome string, err error) (Entry, error) {
		entry.At, entry.Outcome = in.now(), outcome
		if err != nil {
			entry.Error = err.Error()
		}
		if herr := in.History.Append(entry); herr != nil {
			err = errors.Join(err, herr)
		}
		return entry, err
	}
	path, cleanup, err := in.fetch(ctx, req.Source)
	if err != nil {
		return finish(OutcomeFailed, err)
	}
	defer cleanup()

	rauc, err := Dial(ctx, in.Bus)
	if err != nil {
		return finish(OutcomeFailed, err)
	}
	defer rauc.Close()
	if err := rauc.Install(ctx, path, onProgress); err != nil {
		var ie *InstallError
		if errors.As(err, &ie) && !ie.Writing {
			return finish(OutcomeRefused, err)
		}
		return finish(OutcomeFailed, err)
	}
	// The slot written is the one to boot next; its status has the version
	// from the bundle's signed manifest.
	if st, err := rauc.Status(ctx); err == nil {
		entry.Slot = st.Primary
		for _, s := range st.Slots {
			if s.Name == st.Primary {
				entry.Version = s.Version
			}
		}
	}
	return finish(OutcomeInstalled, nil)
}

// fetch returns a local path for source, downloading an http(s) URL into
// DownloadDir; cleanup removes what it downloaded.
func (in *Installer) fetch(ctx context.Context, source string) (string, func(), error) {
	none := func() {}
	u, err := url.Parse(source)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		abs, err := filepath.Abs(source)
		if err != nil {
			return "", none, err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", none, fmt.Errorf("bundle: %w", err)
		}
		return abs, none, nil
	}
	if err := os.MkdirAll(in.DownloadDir, 0o750); err != nil {
		return "", none, fmt.Errorf("download folder: %w", err)
	}
	f, err := os.CreateTemp(in.DownloadDir, "bundle-*.raucb")
	if err != nil {
		return "", none, fmt.Errorf("download folder: %w", err)
	}
	cleanup := func() { os.Remove(f.Name()) }
	if err := in.download(ctx, source, f); err != nil {
		f.Close()
		cleanup()
		return "", none, err
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", none, fmt.Errorf("download %s: %w", source, err)
	}
	return f.Name(), cleanup, nil
}

func (in *Installer) download(ctx context.Context, source string, f *os.File) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", source, err)
	}
	client := in.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w", source, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: %s", source, resp.Status)
	}
	limit := in.MaxDownload
	if limit <= 0 {
		limit = DefaultMaxDownload
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("download %s: %w", source, err)
	}
	if n > limit {
		return fmt.Errorf("download %s: larger than %d bytes", source, limit)
	}
	return nil
}

func (in *Installer) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}
