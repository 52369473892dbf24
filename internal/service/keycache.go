package service

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// Bounds of the API-key cache.
const (
	// KeyCacheTTL is how long an authenticated key is trusted without
	// asking the database again: a key revoked through another process (or
	// straight in the database) stops working within this time. A key
	// revoked through this process stops at once.
	KeyCacheTTL = 2 * time.Second
	// keyCacheMax caps the cached keys; past it the cache starts over.
	keyCacheMax = 10_000
)

// keyCache remembers the keys Authenticate found valid, by hash, for
// KeyCacheTTL, so that most requests authenticate without a database
// transaction. Unknown and revoked keys are never cached: a flood of wrong
// keys cannot fill it, and a key's first use always asks the database.
type keyCache struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]keyEntry
}

type keyEntry struct {
	key   domain.APIKey
	until time.Time
}

func newKeyCache() *keyCache {
	return &keyCache{now: time.Now, entries: map[string]keyEntry{}}
}

// get returns a copy of the cached key for hash, if still fresh.
func (c *keyCache) get(hash []byte) (*domain.APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[string(hash)]
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.until) {
		delete(c.entries, string(hash))
		return nil, false
	}
	k := e.key
	return &k, true
}

// put caches a copy of a valid key.
func (c *keyCache) put(hash []byte, k *domain.APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= keyCacheMax {
		for h, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, h)
			}
		}
		if len(c.entries) >= keyCacheMax {
			clear(c.entries)
		}
	}
	c.entries[string(hash)] = keyEntry{key: *k, until: now.Add(KeyCacheTTL)}
}

// forget drops the key with id, revoked through this process.
func (c *keyCache) forget(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, h)
		}
	}
}
