package localapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/journal"
	"github.com/linesight/linesight/appliance/users"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

// start serves a fresh journal (holding two records) and, when withUsers,
// a users' store, from dir.
func start(t *testing.T, dir string, withUsers bool, changed func(string)) (*Server, *users.Store) {
	t.Helper()
	j, err := journal.Open(journal.Options{Dir: dir, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.Close(t, "the journal", j) })
	at := time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)
	for i, o := range []defects.Outcome{defects.Pass, defects.Fail} {
		v := defects.Verdict{Camera: "cam0", Seq: uint64(i + 1), CapturedAt: at.Add(time.Duration(i) * time.Second), Outcome: o, Class: "c"}
		if err := j.Write(context.Background(), &inspect.Result{Verdict: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := Backend{Journal: j, UserChanged: changed}
	var store *users.Store
	if withUsers {
		if store, err = users.OpenStore(filepath.Join(dir, users.StoreFile)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { testenv.Close(t, "the user store", store) })
		b.Users = store
	}
	s, err := Start(dir, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s, store
}

func TestSocketIsTheOwnersAndGoesAwayOnClose(t *testing.T) {
	dir := t.TempDir()
	if _, err := Dial(context.Background(), dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("nothing running: %v, want ErrNotRunning", err)
	}
	// A socket left by an appliance that was killed: no one answers.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: SocketPath(dir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(context.Background(), dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("stale socket: %v, want ErrNotRunning", err)
	}

	// Start replaces it with its own, mode 0600, and leaves nothing else.
	s, _ := start(t, dir, false, nil)
	fi, err := os.Lstat(SocketPath(dir))
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v, want a socket of mode 0600", fi, err)
	}
	if left, err := filepath.Glob(filepath.Join(dir, ".s*")); err != nil {
		t.Fatal(err)
	} else if len(left) > 0 {
		t.Errorf("left beside the socket: %v", left)
	}
	c, err := Dial(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	counters, err := c.Counters(context.Background(), time.Time{}, time.Time{})
	if err != nil || counters.Total != 2 || counters.Pass != 1 || counters.Fail != 1 {
		t.Errorf("counters %+v %v", counters, err)
	}
	c.Close()

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(SocketPath(dir)); !os.IsNotExist(err) {
		t.Errorf("socket after Close: %v", err)
	}
	if _, err := Dial(context.Background(), dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("after Close: %v, want ErrNotRunning", err)
	}
}

// Pages through the socket are the journal's pages: the cursor of one
// continues in the next.
func TestQueryPages(t *testing.T) {
	dir := t.TempDir()
	s, _ := start(t, dir, false, nil)
	defer testenv.Close(t, "the local API", s)
	c, err := Dial(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := journal.Query{Oldest: true, Limit: 1}
	var outcomes []defects.Outcome
	for {
		p, err := c.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			outcomes = append(outcomes, r.Outcome)
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(outcomes) != 2 || outcomes[0] != defects.Pass || outcomes[1] != defects.Fail {
		t.Errorf("paged outcomes %v, want PASS, FAIL", outcomes)
	}
	// The journal's own errors come back with its words.
	q.Cursor = "not-a-cursor"
	if _, err := c.Query(context.Background(), q); err == nil || !strings.Contains(err.Error(), "is not one this journal gave") {
		t.Errorf("bad cursor: %v", err)
	}
}

// user add through the appliance: the store's rules and words, and the
// hook that ends a changed user's sessions.
func TestSetUser(t *testing.T) {
	dir := t.TempDir()
	// The hook runs on the server's goroutine: a socket between it and
	// this one is no synchronisation the race detector sees.
	var mu sync.Mutex
	var changedNames []string
	changed := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(changedNames) }
	s, store := start(t, dir, true, func(name string) { mu.Lock(); changedNames = append(changedNames, name); mu.Unlock() })
	defer testenv.Close(t, "the local API", s)
	c, err := Dial(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	if created, err := c.SetUser(ctx, "ann", users.RoleAdmin, "first-password"); err != nil || !created || len(changed()) != 0 {
		t.Fatalf("add: created %v, %v, changed %v", created, err, changed())
	}
	if created, err := c.SetUser(ctx, "ann", users.RoleAdmin, "second-password"); err != nil || created || !slices.Equal(changed(), []string{"ann"}) {
		t.Fatalf("reset: created %v, %v, changed %v", created, err, changed())
	}
	if u, err := store.Authenticate("ann", "second-password"); err != nil || u.Role != users.RoleAdmin {
		t.Errorf("after the reset: %+v %v", u, err)
	}
	for _, bad := range []struct {
		name, role, password string
		want                 error
	}{
		{"bo", users.RoleOperator, "short", users.ErrBadPassword},
		{"b o", users.RoleOperator, "long-enough", users.ErrBadUserName},
		{"bo", "boss", "long-enough", users.ErrBadRole},
		{"ann", users.RoleOperator, "third-password", users.ErrLastAdmin},
	} {
		if _, err := c.SetUser(ctx, bad.name, bad.role, bad.password); err == nil || !strings.Contains(err.Error(), bad.want.Error()) {
			t.Errorf("%s/%s: %v, want %q", bad.name, bad.role, err, bad.want)
		}
	}
	if len(changed()) != 1 {
		t.Errorf("refused changes called the hook: %v", changed())
	}
	if u, err := store.Authenticate("ann", "second-password"); err != nil || u.Role != users.RoleAdmin {
		t.Errorf("after refused changes: %+v %v", u, err)
	}

	// Without the dashboard the appliance does not hold the store.
	other := t.TempDir()
	s2, _ := start(t, other, false, nil)
	defer testenv.Close(t, "the second local API", s2)
	c2, err := Dial(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.SetUser(ctx, "ann", users.RoleOperator, "first-password"); !errors.Is(err, ErrNoUsers) {
		t.Errorf("dashboard off: %v, want ErrNoUsers", err)
	}
}

func TestAudit(t *testing.T) {
	dir := t.TempDir()
	s, store := start(t, dir, true, nil)
	defer testenv.Close(t, "the local API", s)
	ctx := context.Background()
	c, err := Dial(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := users.AuditEntry{At: at, User: "cli", Action: "model.install", Detail: "from model.tar.gz", FromHash: "sha256:aa", ToHash: "sha256:bb"}
	if err := c.Audit(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := c.Audit(ctx, users.AuditEntry{User: "cli"}); err == nil || !strings.Contains(err.Error(), "action") {
		t.Errorf("entry without an action: %v, want it refused", err)
	}
	log, err := store.AuditLog(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || !log[0].At.Equal(at) || log[0].Action != want.Action || log[0].FromHash != want.FromHash || log[0].ToHash != want.ToHash || log[0].Detail != want.Detail {
		t.Fatalf("audit log %+v, want only %+v", log, want)
	}

	other := t.TempDir()
	s2, _ := start(t, other, false, nil)
	defer testenv.Close(t, "the second local API", s2)
	c2, err := Dial(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Audit(ctx, want); !errors.Is(err, ErrNoUsers) {
		t.Errorf("dashboard off: %v, want ErrNoUsers", err)
	}
}
