package golden

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/pipeline/boltfile"
)

// CacheFile is the patch-token cache in the golden folder (a name no set
// folder can take: set names do not start with a dot).
const CacheFile = ".patches.db"

var bucketPatches = []byte("patches")

// Cache keeps each golden image's model outputs — its patch tokens at the
// memory layers and its dense patch embeddings — keyed by the model digest,
// the layers and the image's SHA-256, so a bank is rebuilt without running
// the model again on images it has seen. Everything in it can be computed
// again: a damaged file is replaced.
type Cache struct {
	db *bolt.DB
}

// OpenCache opens or creates the cache in the golden folder of dataDir. A
// damaged file is removed and started afresh.
func OpenCache(dataDir string) (*Cache, error) {
	dir := filepath.Join(dataDir, Dir)
	path := filepath.Join(dir, CacheFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open golden patch cache: %w", err)
	}
	if err := boltfile.Preflight(path); errors.Is(err, boltfile.ErrDamaged) {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("replace damaged golden patch cache %s: %w", path, err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open golden patch cache %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketPatches)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open golden patch cache %s: %w", path, err)
	}
	return &Cache{db: db}, nil
}

// Close closes the file.
func (c *Cache) Close() error { return c.db.Close() }

// cacheKey is digest, layers and image hash; the digest comes first so one
// model's entries are one range.
func cacheKey(digest string, layers []int, sha string) []byte {
	ls := make([]string, len(layers))
	for i, l := range layers {
		ls[i] = strconv.Itoa(l)
	}
	return []byte(digest + "\x00" + strings.Join(ls, ",") + "\x00" + sha)
}

// Get returns the cached outputs; ok is false when there are none.
func (c *Cache) Get(digest string, layers []int, sha string) (e Embedding, ok bool, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketPatches).Get(cacheKey(digest, layers, sha))
		if raw == nil {
			return nil
		}
		var derr error
		e, derr = decodeEmbedding(raw, len(layers))
		ok = derr == nil // an entry that does not decode is embedded again
		return nil
	})
	return e, ok, err
}

// Put stores an image's outputs.
func (c *Cache) Put(digest string, layers []int, sha string, e Embedding) error {
	raw := encodeEmbedding(e)
	return c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPatches).Put(cacheKey(digest, layers, sha), raw)
	})
}

// Keep removes every entry not of model digest, so the file holds one
// model's outputs and does not grow with each model installed.
func (c *Cache) Keep(digest string) (removed int, err error) {
	prefix := []byte(digest + "\x00")
	err = c.db.Update(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketPatches).Cursor()
		for k, _ := cur.First(); k != nil; {
			if strings.HasPrefix(string(k), string(prefix)) {
				k, _ = cur.Next()
				continue
			}
			if err := cur.Delete(); err != nil {
				return err
			}
			removed++
			k, _ = cur.Seek(k) // Delete leaves the cursor on the next key's spot
		}
		return nil
	})
	return removed, err
}

// Len is the number of entries.
func (c *Cache) Len() (n int) {
	c.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketPatches).Stats().KeyN
		return nil
	})
	return n
}

// The encoding: the number of arrays, then each array's length and float32
// values, little-endian; the token arrays in layer order, then the dense
// embeddings (length 0 when absent).
func encodeEmbedding(e Embedding) []byte {
	size := 4
	for _, t := range e.Tokens {
		size += 4 + 4*len(t)
	}
	size += 4 + 4*len(e.Dense)
	out := make([]byte, 0, size)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(e.Tokens)+1))
	for _, a := range append(append([][]float32{}, e.Tokens...), e.Dense) {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(a)))
		for _, v := range a {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out
}

func decodeEmbedding(raw []byte, layers int) (Embedding, error) {
	bad := errors.New("golden patch cache: damaged entry")
	if len(raw) < 4 {
		return Embedding{}, bad
	}
	n := int(binary.LittleEndian.Uint32(raw))
	raw = raw[4:]
	if n != layers+1 {
		return Embedding{}, bad
	}
	arrays := make([][]float32, n)
	for i := range arrays {
		if len(raw) < 4 {
			return Embedding{}, bad
		}
		l := int(binary.LittleEndian.Uint32(raw))
		raw = raw[4:]
		if len(raw) < 4*l {
			return Embedding{}, bad
		}
		if l > 0 {
			a := make([]float32, l)
			for j := range a {
				a[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			}
			arrays[i] = a
		}
		raw = raw[4*l:]
	}
	if len(raw) != 0 {
		return Embedding{}, bad
	}
	return Embedding{Tokens: arrays[:layers], Dense: arrays[layers]}, nil
}
