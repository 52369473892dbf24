package api

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"
)

// tenantSlots counts each tenant's requests in flight on the expensive
// routes and refuses one over max. It lives in one server process.
type tenantSlots struct {
	max int

	mu   sync.Mutex
	busy map[string]int
}

func newTenantSlots(max int) *tenantSlots {
	return &tenantSlots{max: max, busy: map[string]int{}}
}

// acquire takes a slot of key, reporting false when key holds max.
func (s *tenantSlots) acquire(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[key] >= s.max {
		return false
	}
	s.busy[key]++
	return true
}

func (s *tenantSlots) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[key]--; s.busy[key] <= 0 {
		delete(s.busy, key)
	}
}

// errBusy answers a request refused by a concurrency limit.
func errBusy(c echo.Context, msg string) error {
	c.Response().Header().Set("Retry-After", "1")
	return &APIError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Message: msg,
		Details: map[string]any{"retry_after_seconds": 1}}
}

// tenantInflight lets each tenant run at most s.max requests at once on
// the routes it guards, so that no tenant holds more than its share of
// the database pool; one more is 429 rate_limited with Retry-After: 1 at
// once (no queue). The admin key (the system scope) is not limited.
func tenantInflight(s *tenantSlots) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := PrincipalFrom(c.Request().Context())
			if !ok || p.Scope.IsSystem() {
				return next(c)
			}
			key := p.Scope.String()
			if !s.acquire(key) {
				return errBusy(c, fmt.Sprintf("this tenant already has %d expensive requests (lineage, OpenLineage ingestion) in flight; retry after 1 s", s.max))
			}
			defer s.release(key)
			return next(c)
		}
	}
}

// bodyBudget bounds the request bytes the routes it guards read and decode
// at once, server-wide: a decoded JSON document takes many times its size
// in memory (about 18 times for an OpenLineage event made of many small
// objects), so concurrent large bodies must take turns. A body larger than
// the budget takes all of it. A request reserves its Content-Length (the
// route's maximum when unknown) before its body is read and keeps it until
// its handler returns; it waits for room at most wait, then gets 429
// rate_limited with Retry-After: 1.
func bodyBudget(total, limit int64, wait time.Duration) echo.MiddlewareFunc {
	sem := semaphore.NewWeighted(total)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			n := c.Request().ContentLength
			if n < 0 || n > limit {
				n = limit // unknown, or over the route's cap (the handler answers 413)
			}
			n = min(max(n, 1), total)
			ctx, cancel := context.WithTimeout(c.Request().Context(), wait)
			err := sem.Acquire(ctx, n)
			cancel()
			if err != nil {
				if c.Request().Context().Err() != nil {
					return c.Request().Context().Err() // the request ended: 503 as usual
				}
				return errBusy(c, "the server is decoding as many request bytes as it allows at once; retry after 1 s")
			}
			defer sem.Release(n)
			return next(c)
		}
	}
}
