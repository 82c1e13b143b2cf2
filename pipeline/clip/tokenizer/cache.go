package tokenizer

import (
	"strings"
	"sync"
)

const (
	// wordCacheLimit bounds the word -> ids cache. A prompt vocabulary is far
	// smaller; when it fills, it starts again rather than tracking recency.
	wordCacheLimit = 1 << 17
	// promptCacheLimit bounds the prompt -> ids cache, least recently used
	// first out. Prompts are short, so this stays within a few MiB.
	promptCacheLimit = 1 << 14
	// maxCachedPromptBytes keeps pathological inputs out of the prompt cache.
	maxCachedPromptBytes = 4096
)

// wordCache maps a pre-tokenised piece to its BPE ids, like OpenAI's
// bpe cache. Stored slices are never modified.
type wordCache struct {
	mu    sync.RWMutex
	words map[string][]int32
}

func newWordCache() *wordCache {
	return &wordCache{words: make(map[string][]int32)}
}

func (c *wordCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.words[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	c.mu.Lock()
	if len(c.words) >= wordCacheLimit {
		clear(c.words)
	}
	// Clone so the cache does not pin the whole prompt the word came from.
	c.words[strings.Clone(word)] = ids
	c.mu.Unlock()
}

// promptCache is a bounded least-recently-used map from raw prompt text to
// its BPE ids, so a repeated prompt skips cleaning and splitting altogether.
// Stored slices are never modified.
type promptCache struct {
	mu      sync.Mutex
	limit   int
	entries map[string]*promptEntry
	// newest and oldest are the ends of a doubly linked recency list.
	newest, oldest *promptEntry
}

type promptEntry struct {
	text         string
	ids          []int32
	newer, older *promptEntry
}

func newPromptCache(limit int) *promptCache {
	// Sized up front: growing a map this large rehashes it several times.
	return &promptCache{limit: limit, entries: make(map[string]*promptEntry, limit)}
}

func (c *promptCache) get(text string) ([]int32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[text]
	if !ok {
		return nil, false
	}
	c.unlink(e)
	c.pushNewest(e)
	return e.ids, true
}

func (c *promptCache) put(text string, ids []int32) {
	if len(text) > maxCachedPromptBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[text]; ok {
		// Another goroutine got here first; its ids are the same.
		c.unlink(e)
		c.pushNewest(e)
		return
	}
	if len(c.entries) >= c.limit {
		evicted := c.oldest
		c.unlink(evicted)
		delete(c.entries, evicted.text)
	}
	e := &promptEntry{text: strings.Clone(text), ids: ids}
	c.entries[e.text] = e
	c.pushNewest(e)
}

func (c *promptCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *promptCache) unlink(e *promptEntry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		c.newest = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		c.oldest = e.newer
	}
	e.newer, e.older = nil, nil
}

func (c *promptCache) pushNewest(e *promptEntry) {
	e.older = c.newest
	if c.newest != nil {
		c.newest.newer = e
	}
	c.newest = e
	if c.oldest == nil {
		c.oldest = e
	}
}
