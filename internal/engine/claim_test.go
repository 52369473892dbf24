package engine_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/engine"
)

// heard is a RunObserver that keeps the runs it heard of.
type heard struct {
	mu   sync.Mutex
	runs []uuid.UUID
	fail error
}

func (h *heard) RunSucceeded(_ context.Context, run *domain.Run) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return h.fail
	}
	h.runs = append(h.runs, run.ID)
	return nil
}

// queuedOf creates a run of asset and queues it.
func (f *fixture) queuedOf(ctx context.Context, asset uuid.UUID) *domain.Run {
	f.t.Helper()
	r, err := f.eng.Queue(ctx, f.pending(ctx, &asset, nil), "triggered")
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func ids(runs []domain.Run) []uuid.UUID {
	out := make([]uuid.UUID, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

// A claim whose head is an observed run starts and settles it and the
// observed runs right behind it, oldest first, each with its full history,
// output and observers and no lease; the run with work to do behind them
// is left for the next claim, which starts it alone with its lease.
func TestClaimRuns_SettlesObservedRunsAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	obs := &heard{}
	f.eng.ObserveRuns(obs)
	ctx := tenantCtx("t1")
	observed, compute := uuid.New(), uuid.New()
	f.store.observed[observed] = true
	first := []*domain.Run{f.queuedOf(ctx, observed), f.queuedOf(ctx, observed), f.queuedOf(ctx, observed)}
	work := f.queuedOf(ctx, compute)
	last := f.queuedOf(ctx, observed)
	in := engine.ClaimInput{Limits: engine.SlotLimits{MaxRunning: 1}, Worker: "worker-1", Max: 10, ObservedOutput: "nothing to run\n"}

	c, err := f.eng.ClaimRuns(ctx, in)
	if err != nil || c.Started != nil || c.Wait {
		t.Fatalf("ClaimRuns = %+v, %v; want observed runs settled", c, err)
	}
	want := []uuid.UUID{first[0].ID, first[1].ID, first[2].ID}
	if got := ids(c.Settled); !slices.Equal(got, want) {
		t.Fatalf("settled %v, want the three observed heads %v in order", got, want)
	}
	for _, r := range c.Settled {
		if r.State != domain.StateSucceeded || r.StartedAt == nil || r.CompletedAt == nil || r.CompletedAt.Before(*r.StartedAt) {
			t.Fatalf("settled run %+v, want succeeded with its start and end", r)
		}
		if !c.Has(r.ID) {
			t.Fatalf("Has(%s) = false for a settled run", r.ID)
		}
		var moves []string
		for _, e := range f.store.eventsOf(r.ID) {
			moves = append(moves, string(e.From)+">"+string(e.To))
		}
		if !slices.Equal(moves, []string{"pending>queued", "queued>running", "running>succeeded"}) {
			t.Fatalf("history of %s = %v", r.ID, moves)
		}
		if l, ok := f.store.logOf(r.ID); !ok || l.Content != in.ObservedOutput {
			t.Fatalf("output of %s = %+v, %v", r.ID, l, ok)
		}
		if _, err := f.eng.RunLease(ctx, r.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("lease of a settled observed run: %v, want none", err)
		}
	}
	if !slices.Equal(obs.runs, want) {
		t.Fatalf("observers heard %v, want %v", obs.runs, want)
	}
	if c.Has(work.ID) || f.get(ctx, work.ID).State != domain.StateQueued || f.get(ctx, last.ID).State != domain.StateQueued {
		t.Fatal("the claim went past the run with work to do")
	}

	c, err = f.eng.ClaimRuns(ctx, in)
	if err != nil || c.Started == nil || c.Started.ID != work.ID || len(c.Settled) != 0 {
		t.Fatalf("second ClaimRuns = %+v, %v; want the compute run started alone", c, err)
	}
	if c.Started.State != domain.StateRunning {
		t.Fatalf("started run is %s", c.Started.State)
	}
	if l, err := f.eng.RunLease(ctx, work.ID); err != nil || l.WorkerID != "worker-1" {
		t.Fatalf("lease of the started run = %+v, %v", l, err)
	}
	// Its slot is the tenant's only one: the observed run behind waits.
	if c, err = f.eng.ClaimRuns(ctx, in); err != nil || !c.Wait || len(c.Settled) != 0 || c.Started != nil {
		t.Fatalf("ClaimRuns with the slot taken = %+v, %v; want wait", c, err)
	}
	f.settle(ctx, f.get(ctx, work.ID), domain.StateSucceeded)
	if c, err = f.eng.ClaimRuns(ctx, in); err != nil || !slices.Equal(ids(c.Settled), []uuid.UUID{last.ID}) {
		t.Fatalf("ClaimRuns after the slot freed = %+v, %v; want the last run settled", c, err)
	}
	if c, err = f.eng.ClaimRuns(ctx, in); err != nil || c.Wait || c.Started != nil || len(c.Settled) != 0 {
		t.Fatalf("ClaimRuns with nothing queued = %+v, %v; want nothing", c, err)
	}
}

// One claim settles at most Max observed runs and no more than the start
// rate allows, touches no other tenant's runs, and an observer's error
// undoes the whole claim.
func TestClaimRuns_BoundsTenantsAndObserverErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	obs := &heard{}
	f.eng.ObserveRuns(obs)
	a, b := tenantCtx("a"), tenantCtx("b")
	asset := uuid.New()
	f.store.observed[asset] = true
	var ofA, ofB []*domain.Run
	for range 5 {
		ofA = append(ofA, f.queuedOf(a, asset))
		ofB = append(ofB, f.queuedOf(b, asset))
	}
	c, err := f.eng.ClaimRuns(a, engine.ClaimInput{Max: 2})
	if err != nil || !slices.Equal(ids(c.Settled), []uuid.UUID{ofA[0].ID, ofA[1].ID}) {
		t.Fatalf("ClaimRuns(Max 2) = %+v, %v; want the two oldest of tenant a", c, err)
	}
	c, err = f.eng.ClaimRuns(a, engine.ClaimInput{Max: 10, Limits: engine.SlotLimits{StartsPerMinute: 3}})
	if err != nil || !slices.Equal(ids(c.Settled), []uuid.UUID{ofA[2].ID}) {
		t.Fatalf("ClaimRuns with one start left this minute = %+v, %v; want one run", c, err)
	}
	if c, err = f.eng.ClaimRuns(a, engine.ClaimInput{Max: 10, Limits: engine.SlotLimits{StartsPerMinute: 3}}); err != nil || !c.Wait {
		t.Fatalf("ClaimRuns with the start rate used up = %+v, %v; want wait", c, err)
	}
	for _, r := range ofB {
		if got := f.get(b, r.ID).State; got != domain.StateQueued {
			t.Fatalf("tenant b's run is %s after tenant a's claims, want queued", got)
		}
	}
	boom := errors.New("observer down")
	obs.fail = boom
	if _, err := f.eng.ClaimRuns(b, engine.ClaimInput{Max: 10}); !errors.Is(err, boom) {
		t.Fatalf("ClaimRuns with a failing observer = %v, want its error", err)
	}
	for _, r := range ofB {
		if got := f.get(b, r.ID).State; got != domain.StateQueued || len(f.store.eventsOf(r.ID)) != 1 {
			t.Fatalf("tenant b's run is %s with %d history rows after the failed claim, want queued as before", got, len(f.store.eventsOf(r.ID)))
		}
	}
	obs.fail = nil
	if c, err := f.eng.ClaimRuns(b, engine.ClaimInput{Max: 10}); err != nil || len(c.Settled) != len(ofB) {
		t.Fatalf("ClaimRuns of tenant b = %+v, %v; want all five settled", c, err)
	}
}
