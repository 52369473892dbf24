package api

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestDatabaseFailuresAre503 checks that every way the database can fail to
// serve a request maps to 503 unavailable, and that a plain error still is
// a 500 (not a client error).
func TestDatabaseFailuresAre503(t *testing.T) {
	t.Parallel()
	unavailableErrs := []error{
		context.DeadlineExceeded,
		fmt.Errorf("begin: %w", context.DeadlineExceeded),
		context.Canceled,
		driver.ErrBadConn,
		&pgconn.ConnectError{},
		&pgconn.PgError{Code: "57P01"}, // admin shutdown (pg_ctl restart)
		&pgconn.PgError{Code: "57P03"}, // cannot connect now (starting up)
		&pgconn.PgError{Code: "08006"}, // connection failure
		&pgconn.PgError{Code: "53300"}, // too many connections
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		errors.New("failed to deallocate cached statement(s): conn closed"),
		errors.New("read: unexpected EOF"),
	}
	for _, err := range unavailableErrs {
		ae, ok := toAPIError(err)
		if !ok || ae.Status != http.StatusServiceUnavailable || ae.Code != CodeUnavailable {
			t.Errorf("toAPIError(%v) = %+v, %v; want 503 unavailable", err, ae, ok)
		}
	}
	for _, err := range []error{errors.New("boom"), &pgconn.PgError{Code: "42P01"}} {
		if ae, ok := toAPIError(err); ok {
			t.Errorf("toAPIError(%v) = %+v; want a bare 500", err, ae)
		}
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
