package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/domain"
)

// apiCSP is the Content-Security-Policy of every response but the
// console's: an API answer is data, never a page, so it may load nothing
// and be framed by nobody. The console (package console) replaces it with its own.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries: no MIME
// sniffing, no referrer, no framing, the API's Content-Security-Policy,
// and, on /api/v1, Cache-Control: no-store so that no shared cache keeps a
// tenant's data. Handlers that serve something else (the console) override
// them after this middleware ran.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Content-Security-Policy", apiCSP)
			if p := c.Request().URL.Path; p == APIPrefix || strings.HasPrefix(p, APIPrefix+"/") {
				h.Set("Cache-Control", "no-store")
			}
			return next(c)
		}
	}
}

// errRequestTimeout is the cause of a request context that reached the
// server's request timeout.
var errRequestTimeout = errors.New("request timeout")

// requestDeadline bounds every API request, including its wait for a
// database connection: database/sql queues a request for a pooled
// connection until its context ends, so without a deadline an exhausted
// pool would queue requests for ever. A request that runs out of time gets
// 503 unavailable with Retry-After (see unavailable), not a hang.
func requestDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx, cancel := context.WithTimeoutCause(req.Context(), d, errRequestTimeout)
			defer cancel()
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

// rateLimiter is a token bucket per key: each key may make burst requests
// at once and rate requests per second after that. It lives in one server
// process, so with N API replicas a tenant gets N times the rate.
type rateLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxIdleBuckets bounds the limiter's memory: past it, buckets that have
// refilled completely (their tenant has been idle) are dropped, which
// changes nothing for their tenant.
const maxIdleBuckets = 10000

// newRateLimiter returns a limiter of rate requests per second with the
// given burst; a burst below 1 becomes twice the rate (at least 1).
func newRateLimiter(rate float64, burst int) *rateLimiter {
	b := float64(burst)
	if burst < 1 {
		b = math.Max(1, math.Ceil(2*rate))
	}
	return &rateLimiter{rate: rate, burst: b, now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket. When there is none it reports how
// long until there will be.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxIdleBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops the buckets that are full again. l.mu is held.
func (l *rateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// rateLimit limits each tenant's requests, over all its keys, with l. It
// runs after authentication; the admin key (the system scope) is not
// limited. A request over the limit is 429 with Retry-After in whole
// seconds.
func rateLimit(l *rateLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := PrincipalFrom(c.Request().Context())
			if !ok || p.Scope.IsSystem() {
				return next(c)
			}
			allowed, wait := l.allow(p.Scope.String())
			if allowed {
				return next(c)
			}
			secs := int(math.Ceil(wait.Seconds()))
			if secs < 1 {
				secs = 1
			}
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			return &APIError{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
				Message: fmt.Sprintf("rate limit of %g requests per second exceeded; retry after %d s", l.rate, secs),
				Details: map[string]any{"retry_after_seconds": secs}}
		}
	}
}

// MaxQueryValueBytes caps each query parameter's name and value; filters
// have their own, smaller limits (the longest value they can match).
const MaxQueryValueBytes = 1024

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// cleanQuery refuses query strings whose names or values are not valid
// UTF-8 or hold control characters (NUL above all, which PostgreSQL
// refuses in text): 400, before any handler passes them to a filter.
func cleanQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().URL.RawQuery == "" {
			return next(c) // nothing to parse
		}
		for name, values := range c.QueryParams() {
			for _, v := range append([]string{name}, values...) {
				if len(v) > MaxQueryValueBytes {
					return badRequest(fmt.Sprintf("query parameter %q is over %d bytes", strings.ToValidUTF8(truncate(name, 64), "?"), MaxQueryValueBytes),
						map[string]any{"query": "too long"})
				}
				if !domain.ValidText(v) {
					return badRequest(fmt.Sprintf("query parameter %q must be valid UTF-8 without control characters", strings.ToValidUTF8(name, "?")),
						map[string]any{"query": "invalid text"})
				}
			}
		}
		return next(c)
	}
}
