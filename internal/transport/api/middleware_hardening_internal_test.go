package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
)

// TestDatabaseFailuresAre503 checks that every error that says the request
// could not be served now maps to 503 unavailable: what the repository
// reports as domain.ErrUnavailable (its classification of database errors
// has its own test, TestTranslate_Unavailable) and a context that ended.
// A plain error still is a 500 (not a client error), and a domain error
// keeps its own status.
func TestDatabaseFailuresAre503(t *testing.T) {
	t.Parallel()
	unavailableErrs := []error{
		domain.ErrUnavailable,
		fmt.Errorf("list assets: %w", domain.ErrUnavailable),
		fmt.Errorf("%w: %w", domain.ErrUnavailable, errors.New("dial tcp: connection refused")),
		context.DeadlineExceeded,
		fmt.Errorf("begin: %w", context.DeadlineExceeded),
		context.Canceled,
	}
	for _, err := range unavailableErrs {
		ae, ok := toAPIError(err)
		if !ok || ae.Status != http.StatusServiceUnavailable || ae.Code != CodeUnavailable {
			t.Errorf("toAPIError(%v) = %+v, %v; want 503 unavailable", err, ae, ok)
		}
	}
	for _, err := range []error{errors.New("boom"), errors.New("ERROR: relation \"nope\" does not exist (SQLSTATE 42P01)")} {
		if ae, ok := toAPIError(err); ok {
			t.Errorf("toAPIError(%v) = %+v; want a bare 500", err, ae)
		}
	}
	if ae, ok := toAPIError(fmt.Errorf("asset: %w", domain.ErrNotFound)); !ok || ae.Status != http.StatusNotFound {
		t.Errorf("toAPIError(not found) = %+v, %v; want 404", ae, ok)
	}
}

// TestRateLimiterBucket drives the token bucket with a fake clock.
func TestRateLimiterBucket(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := newRateLimiter(2, 3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("4th request = %v, wait %s; want refused, wait (0, 500ms]", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another key is limited by a's bucket")
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("refilled token refused")
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("a second token appeared from nowhere")
	}
	// Default burst: twice the rate.
	if d := newRateLimiter(5, 0); d.burst != 10 {
		t.Fatalf("default burst = %g, want 10", d.burst)
	}
	// Idle buckets are swept once the map is full.
	for i := range maxIdleBuckets + 1 {
		l.allow(fmt.Sprint("k", i))
		now = now.Add(time.Second)
	}
	if n := len(l.buckets); n > maxIdleBuckets {
		t.Fatalf("%d buckets kept, want at most %d", n, maxIdleBuckets)
	}
}
