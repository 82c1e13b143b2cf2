package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/linesight/linesight/appliance/update"
	"io"
	"io/fs"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
)

// Client calls the local API of the appliance running on a data directory.
type Client struct {
	path string
	http *http.Client
}

// Dial connects to the appliance running on dataDir. It returns
// ErrNotRunning when none answers: no socket, or a stale one left by an
// appliance that was killed.
func Dial(ctx context.Context, dataDir string) (*Client, error) {
	path := SocketPath(dataDir)
	if len(path) > maxSocketPath {
		return nil, ErrNotRunning // no appliance could have made it
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return nil, ErrNotRunning
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("the appliance running on %s does not let this user in (%w): run the command as the appliance's user or as root", dataDir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reach the appliance running on %s: %w", dataDir, err)
	}
	conn.Close()
	return &Client{path: path, http: &http.Client{
		// Each call is one short read or write of the appliance's files.
		Timeout: time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}},
	}}, nil
}

// Socket is the socket the client talks to.
func (c *Client) Socket() string { return c.path }

// Close drops the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Counters is journal.Journal.Counters on the running appliance's journal.
func (c *Client) Counters(ctx context.Context, from, to time.Time) (journal.Counters, error) {
	var out journal.Counters
	err := c.call(ctx, pathCounters, countersRequest{From: from, To: to}, &out)
	return out, err
}

// Query is journal.Journal.Query on the running appliance's journal.
func (c *Client) Query(ctx context.Context, q journal.Query) (journal.Page, error) {
	var out journal.Page
	err := c.call(ctx, pathQuery, q, &out)
	return out, err
}

// SetUser is users.Store.SetUser on the running appliance's store, which also
// ends the user's dashboard sessions when it changed an existing user. It
// returns ErrNoUsers when the appliance does not hold the store.
func (c *Client) SetUser(ctx context.Context, name, role, password string) (created bool, err error) {
	var out userReply
	err = c.call(ctx, pathUsers, userRequest{Name: name, Role: role, Password: password}, &out)
	return out.Created, err
}

// Audit is users.Store.Audit on the running appliance's store. It returns
// ErrNoUsers when the appliance does not hold the store.
func (c *Client) Audit(ctx context.Context, e users.AuditEntry) error {
	return c.call(ctx, pathAudit, e, &auditReply{})
}

// GoldenAdd is golden.Manager.Add of a file's image on the running
// appliance. It returns ErrNoGolden when the appliance does not manage the
// samples.
func (c *Client) GoldenAdd(ctx context.Context, set, by string, image []byte) (golden.Sample, error) {
	var out golden.Sample
	err := c.call(ctx, pathGoldenAdd, goldenAddRequest{Set: set, By: by, Image: image}, &out)
	return out, err
}

// GoldenStatus is set's part of golden.Manager.Status on the running
// appliance: its samples, their leave-one-out scores and the bank's state.
func (c *Client) GoldenStatus(ctx context.Context, set string) (golden.SetStatus, error) {
	var out golden.SetStatus
	err := c.call(ctx, pathGoldenStatus, goldenSetRequest{Set: set}, &out)
	return out, err
}

// GoldenRemove is golden.Manager.Remove on the running appliance.
func (c *Client) GoldenRemove(ctx context.Context, set, id string) (golden.Sample, error) {
	var out golden.Sample
	err := c.call(ctx, pathGoldenRemove, goldenRemoveRequest{Set: set, ID: id}, &out)
	return out, err
}

// Health is the running appliance's health as the firmware update's gate
// reads it.
func (c *Client) Health(ctx context.Context) (update.Health, error) {
	var out update.Health
	err := c.call(ctx, pathHealth, struct{}{}, &out)
	return out, err
}

// Recipe asks for the recipes and, when set is not empty, makes it the
// active one.
func (c *Client) Recipe(ctx context.Context, set string) (RecipeReply, error) {
	var out RecipeReply
	err := c.call(ctx, pathRecipe, RecipeRequest{Set: set}, &out)
	return out, err
}

func (c *Client) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	// The host is a placeholder: the transport dials the socket.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://appliance"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ask the running appliance (%s): %w", c.path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e errorReply
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(raw))
		}
		if resp.StatusCode == http.StatusNotFound && (path == pathUsers || path == pathAudit) {
			return ErrNoUsers
		}
		if resp.StatusCode == http.StatusNotImplemented {
			return ErrNoGolden
		}
		return fmt.Errorf("the running appliance: %s", e.Error)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("the running appliance's reply to %s: %w", path, err)
	}
	return nil
}
