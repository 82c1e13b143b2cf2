package defects

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/internal/testenv"
)

func openTestCache(t *testing.T, path string) *Cache {
	t.Helper()
	c, err := OpenCache(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCacheEncodesOnlyMissesAndSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.db")
	enc := &fakeEncoder{vectors: map[string][]float32{
		"a": {1, 0, 0}, "b": {0, 2, 0}, "c": {0, 0, 3}, "d": {4, 4, 0},
	}}
	const digest = "sha256:aaa"

	type step struct {
		reopen      bool
		digest      string
		prompts     []string
		wantBatches [][]string // batches the encoder receives in this step
		wantHits    int        // cumulative since the cache was opened
		wantMisses  int
	}
	steps := []step{
		{digest: digest, prompts: []string{"a", "b"}, wantBatches: [][]string{{"a", "b"}}, wantHits: 0, wantMisses: 2},
		// b is cached; c and d go to the encoder together; the repeated c once.
		{digest: digest, prompts: []string{"b", "c", "d", "c"}, wantBatches: [][]string{{"c", "d"}}, wantHits: 1, wantMisses: 4},
		{digest: digest, prompts: []string{"d", "a"}, wantHits: 3, wantMisses: 4},
		// A restart: the file alone serves every prompt.
		{reopen: true, digest: digest, prompts: []string{"a", "b", "c", "d"}, wantHits: 4, wantMisses: 0},
		// Another model never sees the first model's embeddings.
		{digest: "sha256:bbb", prompts: []string{"a"}, wantBatches: [][]string{{"a"}}, wantHits: 4, wantMisses: 1},
	}
	c := openTestCache(t, path)
	for i, s := range steps {
		if s.reopen {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			c = openTestCache(t, path)
		}
		before := enc.calls()
		got, err := c.Embed(s.digest, enc, s.prompts)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if batches := enc.batches[before:]; len(batches)+len(s.wantBatches) > 0 && !reflect.DeepEqual(batches, s.wantBatches) {
			t.Errorf("step %d: encoder got %v, want %v", i, batches, s.wantBatches)
		}
		for j, p := range s.prompts {
			if !reflect.DeepEqual(got[j], enc.vectors[p]) {
				t.Errorf("step %d: embedding of %q = %v, want %v", i, p, got[j], enc.vectors[p])
			}
		}
		if h, m := c.Stats(); h != s.wantHits || m != s.wantMisses {
			t.Errorf("step %d: stats = %d hits %d misses, want %d, %d", i, h, m, s.wantHits, s.wantMisses)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCacheErrors(t *testing.T) {
	tests := []struct {
		name    string
		enc     *fakeEncoder
		digest  string
		wantErr string
	}{
		{"encoder fails", &fakeEncoder{err: errors.New("session closed")}, "d", "encode 2 prompts: session closed"},
		{"encoder answers too few", &fakeEncoder{short: true}, "d", "encoder returned 1 embeddings"},
		{"ragged embeddings", &fakeEncoder{vectors: map[string][]float32{"x": {1, 2}}}, "d", `encode prompt "y": embedding has 3 dimensions, want 2`},
		{"no digest", &fakeEncoder{}, "", "empty model digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTestCache(t, filepath.Join(t.TempDir(), "text.db"))
			defer testenv.Close(t, "the cache", c)
			_, err := c.Embed(tt.digest, tt.enc, []string{"x", "y"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			// Nothing half-done was stored: a working encoder now gets both.
			good := &fakeEncoder{}
			if _, err := c.Embed("d", good, []string{"x", "y"}); err != nil {
				t.Fatal(err)
			}
			if got := good.encoded(); !reflect.DeepEqual(got, []string{"x", "y"}) {
				t.Errorf("after a failure the encoder got %v, want [x y]", got)
			}
		})
	}
}

func TestCacheDamagedEntryIsReencoded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.db")
	enc := &fakeEncoder{vectors: map[string][]float32{"a": {1, 2, 3}}}
	c := openTestCache(t, path)
	if _, err := c.Embed("d", enc, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Damage the stored value: 5 bytes cannot be float32s.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("text_embeddings")).Bucket([]byte("d")).Put([]byte("a"), []byte{1, 2, 3, 4, 5})
	})
	if cerr := db.Close(); cerr != nil {
		t.Fatalf("closing the damaged database: %v", cerr)
	}
	if err != nil {
		t.Fatal(err)
	}

	c = openTestCache(t, path)
	defer testenv.Close(t, "the cache", c)
	got, err := c.Embed("d", enc, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if enc.calls() != 2 || !reflect.DeepEqual(got[0], []float32{1, 2, 3}) {
		t.Errorf("damaged entry: %d encoder calls, got %v; want a second call and [1 2 3]", enc.calls(), got[0])
	}
}

func TestOpenCacheLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.db")
	c := openTestCache(t, path)
	defer testenv.Close(t, "the cache", c)
	defer func(d time.Duration) { cacheLockTimeout = d }(cacheLockTimeout)
	cacheLockTimeout = 50 * time.Millisecond
	if _, err := OpenCache(path); !errors.Is(err, ErrCacheInUse) || !strings.Contains(err.Error(), "open text-embedding cache "+path) {
		t.Fatalf("second open = %v, want %v naming the file", err, ErrCacheInUse)
	}
}

// A tool beside a running appliance (which holds the file) gets a cache in
// memory, is told so, and leaves the file as it was; with the file free it
// gets the file.
func TestOpenCacheOrMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.db")
	enc := &fakeEncoder{vectors: map[string][]float32{"a": {1, 0}, "b": {0, 1}}}
	held := openTestCache(t, path)
	if _, err := held.Embed("d", enc, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { cacheLockTimeout = d }(cacheLockTimeout)
	cacheLockTimeout = 50 * time.Millisecond

	var logged bytes.Buffer
	c, err := OpenCacheOrMemory(path, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatalf("open beside the holder: %v", err)
	}
	if !c.InMemory() || !strings.Contains(logged.String(), "in use by a running appliance") || !strings.Contains(logged.String(), path) {
		t.Fatalf("in memory %v, log %q", c.InMemory(), logged.String())
	}
	before := enc.calls()
	got, err := c.Embed("d", enc, []string{"a", "b"})
	if err != nil || !reflect.DeepEqual(got, [][]float32{{1, 0}, {0, 1}}) {
		t.Fatalf("embed in memory: %v %v", got, err)
	}
	// The second call is served from memory, and a caller's copy is its own.
	got[0][0] = 9
	if again, err := c.Embed("d", enc, []string{"b", "a"}); err != nil || enc.calls() != before+1 ||
		!reflect.DeepEqual(again, [][]float32{{0, 1}, {1, 0}}) {
		t.Fatalf("second embed: %v %v, %d encoder calls, want 1", again, err, enc.calls()-before)
	}
	if h, m := c.Stats(); h != 2 || m != 2 {
		t.Errorf("stats %d hits %d misses, want 2, 2", h, m)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Nothing was written to the file: the holder still lacks b.
	if _, err := held.Embed("d", enc, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if h, m := held.Stats(); h != 0 || m != 2 {
		t.Errorf("the file's cache: %d hits %d misses, want 0, 2 (b not added by the tool)", h, m)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}

	logged.Reset()
	c, err = OpenCacheOrMemory(path, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil || c.InMemory() || logged.Len() != 0 {
		t.Fatalf("free file: in memory %v, err %v, log %q", c != nil && c.InMemory(), err, logged.String())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
