package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// ingestBurstWindow is how long a tenant's unspent ingestion time is kept:
// a tenant that ingested nothing for this long may spend share times it at
// once before it is held to its share.
const ingestBurstWindow = 2 * time.Second

// maxRetryAfter caps the Retry-After of an ingestion budget's 429.
const maxRetryAfter = time.Hour

// ingestBudget gives each tenant a share of the server's time for
// OpenLineage ingestion. Each tenant has an account of ingestion time,
// credited share seconds every second up to share times ingestBurstWindow,
// and debited the time each of its ingestion requests takes. A request is
// let in only while the account is above zero, and reserves the duration
// of the tenant's previous request at once (corrected to its own when it
// is done), so that a tenant near the end of its credit does not start
// several long requests together. A tenant whose account is at or below
// zero is refused with 429 until the credit has repaid it. So the time a
// tenant's ingestion keeps the server busy (its handlers, their queries
// and the database's work for them) averages at most share of the
// wall-clock time, whatever its events are like, and one flooding tenant
// leaves the CPU and the pool to the others. It lives in one server
// process.
type ingestBudget struct {
	share float64 // seconds of ingestion per second
	burst time.Duration
	now   func() time.Time

	mu       sync.Mutex
	accounts map[string]*ingestAccount
}

// ingestAccount is one tenant's ingestion time: balance at the time at,
// reservations included.
type ingestAccount struct {
	balance  time.Duration
	at       time.Time
	last     time.Duration // the duration of the tenant's latest request
	inflight int
}

// newIngestBudget returns a budget of share seconds of ingestion per
// second and per tenant (0.5: half of the time).
func newIngestBudget(share float64) *ingestBudget {
	return &ingestBudget{
		share: share, burst: time.Duration(share * float64(ingestBurstWindow)), now: time.Now,
		accounts: map[string]*ingestAccount{},
	}
}

// account returns key's account credited up to now, a full one for a
// tenant not seen lately. Callers hold mu.
func (b *ingestBudget) account(key string, now time.Time) *ingestAccount {
	a := b.accounts[key]
	if a == nil {
		a = &ingestAccount{balance: b.burst, at: now}
		b.accounts[key] = a
		return a
	}
	if d := now.Sub(a.at); d > 0 {
		a.balance = min(b.burst, a.balance+time.Duration(float64(d)*b.share))
		a.at = now
	}
	return a
}

// forget drops a full, idle account: such a tenant is as one never seen.
// Callers hold mu.
func (b *ingestBudget) forget(key string, a *ingestAccount) {
	if a.inflight == 0 && a.balance >= b.burst {
		delete(b.accounts, key)
	}
}

// admit lets a request of key in, reserving the duration of the tenant's
// previous one (which done gives back), or reports how long the tenant
// must wait first.
func (b *ingestBudget) admit(key string) (reserved, wait time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.account(key, b.now())
	if a.balance <= 0 {
		return 0, time.Duration(float64(-a.balance)/b.share) + time.Millisecond, false
	}
	a.balance -= a.last
	a.inflight++
	return a.last, 0, true
}

// done settles a request admit let in with reserved: it took took.
func (b *ingestBudget) done(key string, reserved, took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.account(key, b.now())
	a.balance += reserved - took
	a.last = took
	a.inflight--
	b.forget(key, a)
}

// retryAfterSeconds is the Retry-After of a wait: whole seconds, at least
// one, at most maxRetryAfter.
func retryAfterSeconds(d time.Duration) int {
	return int(math.Ceil(min(max(d, time.Second), maxRetryAfter).Seconds()))
}

// ingestLimit guards the OpenLineage ingestion routes with b: a tenant
// whose account is not above zero gets 429 rate_limited with Retry-After
// (the seconds until its account is repaid) before its body is read; any
// other request is timed, from here to its handler's return, and its
// tenant's account is debited that time. The admin key (the system scope)
// is not limited. A nil b limits nothing.
func ingestLimit(b *ingestBudget) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if b == nil {
			return next
		}
		return func(c echo.Context) error {
			p, ok := PrincipalFrom(c.Request().Context())
			if !ok || p.Scope.IsSystem() {
				return next(c)
			}
			key := p.Scope.String()
			reserved, wait, ok := b.admit(key)
			if !ok {
				secs := retryAfterSeconds(wait)
				c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
				return &APIError{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
					Message: fmt.Sprintf("this tenant has used its share of the server's time for OpenLineage ingestion (%.0f%%); retry after %d s", b.share*100, secs),
					Details: map[string]any{"retry_after_seconds": secs}}
			}
			began := b.now()
			defer func() { b.done(key, reserved, b.now().Sub(began)) }()
			return next(c)
		}
	}
}
