package service

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// TestKeyCache checks the cache's bounds on a fake clock: a key is served
// until KeyCacheTTL passes, a forgotten key at once stops being served, and
// callers get copies.
func TestKeyCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newKeyCache()
	c.now = func() time.Time { return now }
	k := &domain.APIKey{ID: uuid.New(), TenantID: "acme"}
	hash := HashAPIKey("svk_x")
	c.put(hash, k)

	got, ok := c.get(hash)
	if !ok || got.ID != k.ID {
		t.Fatalf("fresh key: %v %v", got, ok)
	}
	got.TenantID = "other"
	if again, _ := c.get(hash); again.TenantID != "acme" {
		t.Fatal("the cache handed out its own copy")
	}

	now = now.Add(KeyCacheTTL - time.Nanosecond)
	if _, ok := c.get(hash); !ok {
		t.Fatal("key dropped before its TTL")
	}
	now = now.Add(time.Nanosecond)
	if _, ok := c.get(hash); ok {
		t.Fatal("key served past its TTL")
	}

	c.put(hash, k)
	c.forget(k.ID)
	if _, ok := c.get(hash); ok {
		t.Fatal("forgotten key still served")
	}
	if KeyCacheTTL > 5*time.Second {
		t.Fatal("revocation must take effect within 5 s")
	}
}

// TestKeyCacheBounded fills the cache past its cap: it starts over rather
// than grow.
func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache()
	for i := range keyCacheMax + 10 {
		c.put(HashAPIKey(uuid.NewString()+string(rune(i))), &domain.APIKey{ID: uuid.New()})
	}
	if n := len(c.entries); n > keyCacheMax {
		t.Fatalf("cache holds %d keys, cap %d", n, keyCacheMax)
	}
}
