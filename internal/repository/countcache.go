package repository

import (
	"sync"
	"time"
)

// Cached counts of listings past domain.TotalBound.
//
// A listing whose rows run past the bound answers an estimate of its total
// instead of counting every row on every page: the exact count of the same
// listing, taken at most countTTL ago. An entry is keyed by the scope (the
// tenant, or the system scope), the listing and its filter, and holds a
// count taken in that scope, under row-level security: one tenant's entry
// never answers another's listing. When an entry is stale, the first page
// to see it counts again while the others go on answering the stale count,
// so that a busy listing counts once per countTTL, not once per client.

const (
	// countTTL is how long a count answers for its listing.
	countTTL = 10 * time.Second
	// countEntries caps the cache; past it, expired entries go first,
	// then any.
	countEntries = 10_000
)

type countEntry struct {
	n          int64
	at         time.Time
	refreshing bool
}

// countCache holds the exact counts of listings past the bound.
type countCache struct {
	mu  sync.Mutex
	m   map[string]*countEntry
	ttl time.Duration
	max int
	now func() time.Time
}

func newCountCache() *countCache {
	return &countCache{m: map[string]*countEntry{}, ttl: countTTL, max: countEntries, now: time.Now}
}

// get returns the count cached for key. ok is false when the caller should
// count: there is no entry, or the entry is stale and no one else is
// counting it (the caller now is, and must call put or release). A stale
// entry someone else is counting is returned with ok true.
func (c *countCache) get(key string) (n int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	switch {
	case e == nil:
		return 0, false
	case e.refreshing || c.now().Sub(e.at) < c.ttl:
		return e.n, true
	}
	e.refreshing = true
	return e.n, false
}

// answers reports whether get would answer key with a count above bound
// without the caller counting: a fresh entry, or one someone else is
// counting, above bound. It changes nothing.
func (c *countCache) answers(key string, bound int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	return e != nil && (e.refreshing || c.now().Sub(e.at) < c.ttl) && e.n > bound
}

// put stores a count of key just taken.
func (c *countCache) put(key string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		c.evict()
	}
	c.m[key] = &countEntry{n: n, at: c.now()}
}

// release gives up a refresh that get handed to the caller without a
// count to put (the count failed, or the listing fell under the bound).
func (c *countCache) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[key]; e != nil {
		e.refreshing = false
	}
}

// evict makes room for one entry: every expired entry goes, or, when none
// has expired, one entry (the map's order picks which).
func (c *countCache) evict() {
	now := c.now()
	for k, e := range c.m {
		if !e.refreshing && now.Sub(e.at) >= c.ttl {
			delete(c.m, k)
		}
	}
	if len(c.m) < c.max {
		return
	}
	for k := range c.m {
		delete(c.m, k)
		return
	}
}
