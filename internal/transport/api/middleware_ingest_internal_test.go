package api

import (
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)} }
func budgetOn(c *fakeClock, share float64) *ingestBudget {
	b := newIngestBudget(share)
	b.now = c.now
	return b
}

// wait is how long key waits before its next request, or 0 when it would
// be let in (the request is then settled at once, taking nothing).
func (b *ingestBudget) wait(key string) time.Duration {
	reserved, d, ok := b.admit(key)
	if ok {
		b.mu.Lock()
		a := b.accounts[key]
		a.balance += reserved // give the reservation back
		a.inflight--
		b.forget(key, a)
		b.mu.Unlock()
		return 0
	}
	return d
}

// spend runs one request of key that takes took, as the middleware does.
func (b *ingestBudget) spend(t *testing.T, c *fakeClock, key string, took time.Duration) {
	t.Helper()
	reserved, _, ok := b.admit(key)
	if !ok {
		t.Fatalf("%s refused", key)
	}
	c.add(took)
	b.done(key, reserved, took)
}

// A tenant may spend its burst at once; past it, it waits until its share
// of the time since has repaid what it spent over the burst, and the wait
// is the debt over the share. Unspent time is kept up to the burst only.
func TestIngestBudgetAccount(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	b := budgetOn(c, 0.5) // burst: half of ingestBurstWindow, 1 s
	if w := b.wait("a"); w != 0 {
		t.Fatalf("a tenant never seen waits %s", w)
	}
	// A 3 s request from a full account (1 s): credited 1.5 s meanwhile,
	// but only up to the burst, so 2 s in debt.
	b.spend(t, c, "a", 3*time.Second)
	if w := b.wait("a"); w != 4*time.Second+time.Millisecond {
		t.Fatalf("2 s in debt at a 50%% share: wait %s, want 4s (and a millisecond)", w)
	}
	if w := b.wait("b"); w != 0 {
		t.Fatalf("another tenant waits %s for a's debt", w)
	}
	c.add(2 * time.Second)
	if w := b.wait("a"); w != 2*time.Second+time.Millisecond {
		t.Fatalf("half repaid: wait %s, want 2s", w)
	}
	c.add(2*time.Second + 2*time.Millisecond)
	if w := b.wait("a"); w != 0 {
		t.Fatalf("repaid: wait %s", w)
	}
	// The account fills up to the burst and is then forgotten.
	c.add(time.Hour)
	if b.wait("a") != 0 || len(b.accounts) != 0 {
		t.Fatalf("a full account is kept: %v", b.accounts)
	}
	// An hour idle buys no more than the burst.
	b.spend(t, c, "a", 3*time.Second)
	if w := b.wait("a"); w != 4*time.Second+time.Millisecond {
		t.Fatalf("3 s spent after an hour idle: wait %s, want 4s", w)
	}
}

// A request reserves the duration of its tenant's previous one when it is
// let in: a tenant whose account holds less than that cannot start a
// second long request beside the first.
func TestIngestBudgetReserves(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	b := budgetOn(c, 0.5)
	b.spend(t, c, "a", 900*time.Millisecond) // 1 s - 0.9 s: 0.1 s left; the last request took 0.9 s
	reserved, _, ok := b.admit("a")
	if !ok || reserved != 900*time.Millisecond {
		t.Fatalf("a's request with 0.1 s left: let in %v, reserved %s", ok, reserved)
	}
	// 0.1 s - 0.9 s reserved: 0.8 s in debt until the first is done.
	if _, d, ok := b.admit("a"); ok {
		t.Fatal("a's second long request let in beside the first")
	} else if d != 1600*time.Millisecond+time.Millisecond {
		t.Fatalf("wait %s, want 1.6 s (the reserved debt over the share)", d)
	}
	if _, _, ok := b.admit("b"); !ok {
		t.Fatal("b refused for a's reservation")
	}
	// The first was quick after all: the rest of its reservation comes back.
	b.done("a", reserved, 50*time.Millisecond)
	if _, _, ok := b.admit("a"); !ok {
		t.Fatal("a refused after its reservation was settled")
	}
}

// Requests in flight together each give back their own reservation: the
// account ends debited exactly the time they took.
func TestIngestBudgetConcurrent(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	b := budgetOn(c, 0.5)
	b.spend(t, c, "a", 200*time.Millisecond) // 0.8 s left; the last took 0.2 s
	r1, _, ok1 := b.admit("a")
	r2, _, ok2 := b.admit("a")
	if !ok1 || !ok2 {
		t.Fatal("two short requests refused with 0.8 s left")
	}
	b.done("a", r1, 500*time.Millisecond)
	b.done("a", r2, 100*time.Millisecond)
	b.mu.Lock()
	got := b.accounts["a"].balance
	b.mu.Unlock()
	if want := time.Second - 800*time.Millisecond; got != want {
		t.Fatalf("balance %s after 0.8 s in all from a 1 s account, want %s", got, want)
	}
}

// Retry-After is whole seconds, rounded up, at least one, at most an hour.
func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		wait time.Duration
		want int
	}{
		{time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {90 * time.Second, 90}, {48 * time.Hour, 3600},
	} {
		if got := retryAfterSeconds(tc.wait); got != tc.want {
			t.Errorf("retryAfterSeconds(%s) = %d, want %d", tc.wait, got, tc.want)
		}
	}
}
