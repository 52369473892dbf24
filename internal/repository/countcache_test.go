package repository

import (
	"fmt"
	"testing"
	"time"
)

// TestCountCache checks the cache of listing counts on a stubbed clock: a
// count answers for its key only, for countTTL; a stale count is counted
// again by one caller while the others go on reading it; a refresh given up
// is handed to the next caller; the cache keeps to its cap.
func TestCountCache(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c := newCountCache()
	c.now = func() time.Time { return now }
	type step struct {
		name   string
		do     func()
		key    string
		wantN  int64
		wantOK bool
	}
	// answers tells, without taking a refresh, whether get would answer
	// with a count above the bound; it is asked before each get below.
	const bound = 1000
	steps := []step{
		{"missing", nil, "tenant:a/assets", 0, false},
		{"put", func() { c.put("tenant:a/assets", 1500) }, "tenant:a/assets", 1500, true},
		{"another tenant, same listing", nil, "tenant:b/assets", 0, false},
		{"fresh until the TTL", func() { now = now.Add(countTTL - time.Millisecond) }, "tenant:a/assets", 1500, true},
		{"stale: this caller counts", func() { now = now.Add(time.Millisecond) }, "tenant:a/assets", 1500, false},
		{"stale while counted: the others read it", nil, "tenant:a/assets", 1500, true},
		{"counted", func() { c.put("tenant:a/assets", 1600) }, "tenant:a/assets", 1600, true},
		{"stale again", func() { now = now.Add(countTTL) }, "tenant:a/assets", 1600, false},
		{"given up: the next caller counts", func() { c.release("tenant:a/assets") }, "tenant:a/assets", 1600, false},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		if got, want := c.answers(s.key, bound), s.wantOK && s.wantN > bound; got != want {
			t.Fatalf("%s: answers(%q) = %v, want %v", s.name, s.key, got, want)
		}
		if c.answers(s.key, s.wantN) {
			t.Fatalf("%s: answers(%q) above the count itself", s.name, s.key)
		}
		n, ok := c.get(s.key)
		if n != s.wantN || ok != s.wantOK {
			t.Fatalf("%s: get(%q) = %d, %v; want %d, %v", s.name, s.key, n, ok, s.wantN, s.wantOK)
		}
	}

	// At the cap, expired entries make room first, then any.
	c = newCountCache()
	c.now = func() time.Time { return now }
	c.max = 3
	c.put("old", 1)
	now = now.Add(countTTL)
	c.put("k1", 1)
	c.put("k2", 2)
	c.put("k3", 3)
	if _, ok := c.m["old"]; ok || len(c.m) != 3 {
		t.Fatalf("after a put at the cap: %d entries, the expired one kept: %v", len(c.m), ok)
	}
	for i := range 10 {
		c.put(fmt.Sprint("more", i), int64(i))
	}
	if len(c.m) != 3 {
		t.Fatalf("the cache holds %d entries, cap 3", len(c.m))
	}
	if n, ok := c.get("more9"); !ok || n != 9 {
		t.Fatalf("the newest entry: %d, %v", n, ok)
	}
}
