package defects

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TextEncoder turns prompts into text embeddings, one row per prompt.
type TextEncoder interface {
	EmbedTexts(texts []string) ([][]float32, error)
}

// Cache keeps text embeddings on disk, keyed by (model digest, prompt), so a
// restart or a reload of an unchanged defect file encodes nothing. Each model
// digest has its own bucket, which keeps the embeddings of different models
// apart and lets a retired model's entries be dropped as one.
//
// A cache without a file (NewMemoryCache) keeps the embeddings in memory
// for the life of the process.
//
// Safe for concurrent use.
type Cache struct {
	db *bolt.DB

	mu     sync.Mutex
	mem    map[memKey][]float32 // without a file
	hits   int
	misses int
}

type memKey struct{ digest, prompt string }

// ErrCacheInUse is returned when another process holds the cache file: a
// running appliance keeps its cache open.
var ErrCacheInUse = errors.New("another process (a running appliance?) holds the file")

var textEmbeddingsBucket = []byte("text_embeddings")

// cacheLockTimeout bounds the wait for bbolt's file lock, so a second process
// using the same file fails instead of waiting forever.
var cacheLockTimeout = 2 * time.Second

// OpenCache opens or creates the cache file at path.
func OpenCache(path string) (*Cache, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cacheLockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open text-embedding cache %s: %w", path, ErrCacheInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open text-embedding cache %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(textEmbeddingsBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open text-embedding cache %s: %w", path, err)
	}
	return &Cache{db: db}, nil
}

// NewMemoryCache returns a cache without a file: what it encodes is kept
// until the process ends.
func NewMemoryCache() *Cache { return &Cache{mem: map[memKey][]float32{}} }

// OpenCacheOrMemory opens the cache file at path for a tool that runs beside
// the appliance (inspect, eval). A running appliance holds its cache file for
// as long as it runs, so when the file is in use the tool gets a cache in
// memory instead, says so on log, and encodes its prompts itself; the file
// stays the appliance's.
func OpenCacheOrMemory(path string, log *slog.Logger) (*Cache, error) {
	c, err := OpenCache(path)
	if errors.Is(err, ErrCacheInUse) {
		log.Info("text-embedding cache is in use by a running appliance; prompts are encoded and kept in memory for this run",
			"cache", path)
		return NewMemoryCache(), nil
	}
	return c, err
}

// InMemory reports whether the cache has no file.
func (c *Cache) InMemory() bool { return c.db == nil }

// Close closes the cache file.
func (c *Cache) Close() error {
	if c.db == nil {
		return nil
	}
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("close text-embedding cache: %w", err)
	}
	return nil
}

// Stats returns how many prompts were served from the file and how many had
// to be encoded, since the cache was opened.
func (c *Cache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Embed returns the embedding of each prompt under the model digest. Prompts
// not in the file are encoded with enc in one call (the CLIP text encoder
// runs it in bounded batches) and stored. A prompt
// repeated in prompts is looked up and encoded once.
func (c *Cache) Embed(digest string, enc TextEncoder, prompts []string) ([][]float32, error) {
	if digest == "" {
		return nil, errors.New("embed prompts: empty model digest")
	}
	found, err := c.lookup(digest, prompts)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range prompts {
		if _, ok := found[p]; !ok {
			found[p] = nil // counted once, encoded once
			missing = append(missing, p)
		}
	}
	c.mu.Lock()
	c.hits += len(found) - len(missing)
	c.misses += len(missing)
	c.mu.Unlock()

	if len(missing) > 0 {
		slog.Info("encoding prompts", "model", digest, "prompts", len(missing), "cached", len(found)-len(missing))
		rows, err := encodeChecked(enc, missing)
		if err != nil {
			return nil, err
		}
		if err := c.store(digest, missing, rows); err != nil {
			return nil, err
		}
		for i, p := range missing {
			found[p] = rows[i]
		}
	}

	out := make([][]float32, len(prompts))
	dim := -1
	for i, p := range prompts {
		out[i] = found[p]
		if dim >= 0 && len(out[i]) != dim {
			return nil, fmt.Errorf("embed prompts: %q has %d dimensions, others %d (cache mixes models under one digest?)", p, len(out[i]), dim)
		}
		dim = len(out[i])
	}
	return out, nil
}

// lookup returns the cached embeddings of those prompts that are in the file.
func (c *Cache) lookup(digest string, prompts []string) (map[string][]float32, error) {
	found := make(map[string][]float32, len(prompts))
	if c.db == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range prompts {
			if v, ok := c.mem[memKey{digest, p}]; ok {
				found[p] = slices.Clone(v) // as a file's entry, the caller's own copy
			}
		}
		return found, nil
	}
	err := c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(textEmbeddingsBucket).Bucket([]byte(digest))
		if b == nil {
			return nil
		}
		for _, p := range prompts {
			if v := b.Get([]byte(p)); v != nil {
				if vec, ok := decodeVector(v); ok {
					found[p] = vec
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read text-embedding cache: %w", err)
	}
	return found, nil
}

func (c *Cache) store(digest string, prompts []string, rows [][]float32) error {
	if c.db == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, p := range prompts {
			c.mem[memKey{digest, p}] = slices.Clone(rows[i])
		}
		return nil
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(textEmbeddingsBucket).CreateBucketIfNotExists([]byte(digest))
		if err != nil {
			return err
		}
		for i, p := range prompts {
			if err := b.Put([]byte(p), encodeVector(rows[i])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write text-embedding cache: %w", err)
	}
	return nil
}

// encodeChecked runs the encoder and checks that it answered every prompt
// with a non-empty vector of one size.
func encodeChecked(enc TextEncoder, prompts []string) ([][]float32, error) {
	rows, err := enc.EmbedTexts(prompts)
	if err != nil {
		return nil, fmt.Errorf("encode %d prompts: %w", len(prompts), err)
	}
	if len(rows) != len(prompts) {
		return nil, fmt.Errorf("encode %d prompts: encoder returned %d embeddings", len(prompts), len(rows))
	}
	for i, r := range rows {
		if len(r) == 0 || len(r) != len(rows[0]) {
			return nil, fmt.Errorf("encode prompt %q: embedding has %d dimensions, want %d (and not 0)", prompts[i], len(r), len(rows[0]))
		}
	}
	return rows, nil
}

// Vectors are stored as little-endian float32s.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeVector copies out of bbolt's memory, which is only valid inside the
// transaction. A damaged value reads as a miss, so it gets re-encoded.
func decodeVector(b []byte) ([]float32, bool) {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil, false
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, true
}
