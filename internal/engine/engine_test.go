package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/engine"
)

// fixture is an engine over an in-memory store with a recording
// dispatcher.
type fixture struct {
	t     *testing.T
	store *memStore
	jobs  *recorder
	eng   *engine.Engine
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, store: newMemStore(), jobs: &recorder{}}
	f.eng = engine.New(f.store, f.jobs)
	return f
}

func tenantCtx(id string) context.Context {
	return domain.WithTenant(context.Background(), id)
}

// pending creates a pending run of an asset (asset set) or of a workflow.
func (f *fixture) pending(ctx context.Context, asset, workflow *uuid.UUID) *domain.Run {
	f.t.Helper()
	r := domain.Run{AssetID: asset, WorkflowID: workflow}
	r.Normalize()
	if err := f.store.RunCreate(ctx, &r); err != nil {
		f.t.Fatal(err)
	}
	return &r
}

// queued creates a run of a new asset and queues it.
func (f *fixture) queued(ctx context.Context) *domain.Run {
	f.t.Helper()
	asset := uuid.New()
	r, err := f.eng.Queue(ctx, f.pending(ctx, &asset, nil), "triggered")
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) get(ctx context.Context, id uuid.UUID) *domain.Run {
	f.t.Helper()
	r, err := f.store.RunGet(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// claim starts the tenant's next run under lim and fails unless it is want.
func (f *fixture) claim(ctx context.Context, lim engine.SlotLimits, want uuid.UUID) *domain.Run {
	f.t.Helper()
	started, wait, err := f.eng.ClaimNext(ctx, lim, "worker-1")
	if err != nil || wait || started == nil || started.ID != want {
		f.t.Fatalf("ClaimNext = %+v, wait %v, %v; want %s started", started, wait, err, want)
	}
	if started.State != domain.StateRunning {
		f.t.Fatalf("claimed run is %s, want running", started.State)
	}
	return started
}

// settle ends the running attempt of run as to, without retry.
func (f *fixture) settle(ctx context.Context, run *domain.Run, to domain.State) *domain.Run {
	f.t.Helper()
	out, err := f.eng.SettleRun(ctx, engine.SettleInput{ID: run.ID, Attempt: run.Attempt, To: to})
	if err != nil {
		f.t.Fatalf("settle %s as %s: %v", run.ID, to, err)
	}
	return out
}

// workflowRun starts a workflow run of the given assets and edges (up ->
// down) and its steps, and returns it with its steps by asset.
func (f *fixture) workflowRun(ctx context.Context, tenant string, assets []uuid.UUID, edges ...[2]uuid.UUID) (*domain.Run, map[uuid.UUID]uuid.UUID) {
	f.t.Helper()
	w := f.store.addWorkflow(tenant, "wf", 1, 0, assets, edges...)
	parent, err := f.eng.Queue(ctx, f.pending(ctx, nil, &w.ID), "triggered")
	if err != nil {
		f.t.Fatal(err)
	}
	if _, how, err := f.eng.StartRun(ctx, parent.ID, engine.SlotLimits{}); err != nil || how != engine.Started {
		f.t.Fatalf("StartRun(workflow run) = %v, %v", how, err)
	}
	if err := f.eng.StartWorkflowSteps(ctx, parent.ID); err != nil {
		f.t.Fatal(err)
	}
	if final, err := f.eng.AdvanceWorkflowRun(ctx, parent.ID); err != nil || final {
		f.t.Fatalf("first advance = final %v, %v", final, err)
	}
	children, err := f.store.RunChildren(ctx, parent.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	steps := map[uuid.UUID]uuid.UUID{}
	for _, c := range children {
		steps[*c.AssetID] = c.ID
	}
	if len(steps) != len(assets) {
		f.t.Fatalf("%d steps for %d assets", len(steps), len(assets))
	}
	return f.get(ctx, parent.ID), steps
}

// states returns the states of the given steps.
func (f *fixture) states(ctx context.Context, steps map[uuid.UUID]uuid.UUID, assets ...uuid.UUID) []domain.State {
	f.t.Helper()
	out := make([]domain.State, len(assets))
	for i, a := range assets {
		out[i] = f.get(ctx, steps[a]).State
	}
	return out
}

func assets(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	return out
}

// Steps start in the order of their dependencies: a step is queued (and
// dispatched) only once every step upstream of it has succeeded, and the
// workflow run succeeds when every step has.
func TestAdvanceWorkflowRun_StepsFollowDependencies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	as := assets(4)
	a, b, c, d := as[0], as[1], as[2], as[3]
	// A diamond: a feeds b and c, both feed d.
	parent, steps := f.workflowRun(ctx, "t1", as, [2]uuid.UUID{a, b}, [2]uuid.UUID{a, c}, [2]uuid.UUID{b, d}, [2]uuid.UUID{c, d})
	if parent.State != domain.StateRunning {
		t.Fatalf("workflow run is %s, want running", parent.State)
	}
	P, Q := domain.StatePending, domain.StateQueued
	S := domain.StateSucceeded
	if got, want := f.states(ctx, steps, a, b, c, d), []domain.State{Q, P, P, P}; !slices.Equal(got, want) {
		t.Fatalf("after the start steps are %v, want %v", got, want)
	}
	if got := f.jobs.take(); !slices.Equal(got, []uuid.UUID{parent.ID, steps[a]}) {
		t.Fatalf("dispatched %v, want the workflow run and step a", got)
	}

	lim := engine.SlotLimits{MaxRunning: 10}
	f.settle(ctx, f.claim(ctx, lim, steps[a]), S)
	if got, want := f.states(ctx, steps, a, b, c, d), []domain.State{S, Q, Q, P}; !slices.Equal(got, want) {
		t.Fatalf("after a steps are %v, want %v", got, want)
	}
	if got := f.jobs.take(); !slices.Equal(got, []uuid.UUID{steps[b], steps[c]}) {
		t.Fatalf("dispatched %v, want steps b and c", got)
	}
	f.settle(ctx, f.claim(ctx, lim, steps[b]), S)
	if got := f.get(ctx, steps[d]).State; got != P {
		t.Fatalf("d is %s with c still queued, want pending", got)
	}
	f.settle(ctx, f.claim(ctx, lim, steps[c]), S)
	if got := f.jobs.take(); !slices.Equal(got, []uuid.UUID{steps[d]}) {
		t.Fatalf("dispatched %v, want step d", got)
	}
	if got := f.get(ctx, parent.ID).State; got != domain.StateRunning {
		t.Fatalf("workflow run is %s before its last step ended, want running", got)
	}
	f.settle(ctx, f.claim(ctx, lim, steps[d]), S)
	if got := f.get(ctx, parent.ID); got.State != S || got.CompletedAt == nil {
		t.Fatalf("workflow run after every step succeeded = %s (completed %v), want succeeded", got.State, got.CompletedAt)
	}
	if final, err := f.eng.AdvanceWorkflowRun(ctx, parent.ID); err != nil || !final {
		t.Fatalf("advancing a finished workflow run = final %v, %v; want final", final, err)
	}
	if got := f.jobs.take(); len(got) != 0 {
		t.Fatalf("dispatched %v after the end", got)
	}
}

// A step that fails for good fails every step downstream of it
// (upstream_failed, never run), leaves independent steps running, and
// fails the workflow run once every step has ended, naming how many did not
// succeed.
func TestAdvanceWorkflowRun_FailureStopsDownstreamOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	as := assets(4)
	a, b, c, x := as[0], as[1], as[2], as[3]
	parent, steps := f.workflowRun(ctx, "t1", as, [2]uuid.UUID{a, b}, [2]uuid.UUID{b, c})
	f.jobs.take()

	lim := engine.SlotLimits{}
	f.settle(ctx, f.claim(ctx, lim, steps[a]), domain.StateFailed)
	U := domain.StateUpstreamFailed
	if got, want := f.states(ctx, steps, a, b, c, x), []domain.State{domain.StateFailed, U, U, domain.StateQueued}; !slices.Equal(got, want) {
		t.Fatalf("after a failed steps are %v, want %v", got, want)
	}
	if got := f.jobs.take(); len(got) != 0 {
		t.Fatalf("dispatched %v after a failed, want nothing", got)
	}
	evs := f.store.eventsOf(steps[c])
	if len(evs) != 1 || evs[0].From != domain.StatePending || evs[0].To != U || evs[0].Reason != "upstream step failed" {
		t.Fatalf("history of c = %+v, want one pending -> upstream_failed", evs)
	}
	if got := f.get(ctx, parent.ID).State; got != domain.StateRunning {
		t.Fatalf("workflow run is %s while x runs, want running", got)
	}
	f.settle(ctx, f.claim(ctx, lim, steps[x]), domain.StateSucceeded)
	got := f.get(ctx, parent.ID)
	if got.State != domain.StateFailed || got.ErrorMessage != "3 of 4 steps did not succeed" {
		t.Fatalf("workflow run = %s %q, want failed, 3 of 4 steps did not succeed", got.State, got.ErrorMessage)
	}
}

// Cancelling a workflow run cancels its unfinished steps, running ones
// included, and their leases go with their attempts; finished steps keep
// their state.
func TestAdvanceWorkflowRun_CancelledRunCancelsUnfinishedSteps(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	as := assets(4)
	a, b, c, d := as[0], as[1], as[2], as[3]
	parent, steps := f.workflowRun(ctx, "t1", as, [2]uuid.UUID{b, c})
	lim := engine.SlotLimits{}
	f.settle(ctx, f.claim(ctx, lim, steps[a]), domain.StateSucceeded)
	f.claim(ctx, lim, steps[b]) // b runs
	if _, err := f.eng.RunLease(ctx, steps[b]); err != nil {
		t.Fatalf("lease of the running step: %v", err)
	}
	if _, err := f.eng.TransitionRun(ctx, domain.Transition{ID: parent.ID, From: domain.StateRunning, To: domain.StateCancelled}); err != nil {
		t.Fatal(err)
	}
	final, err := f.eng.AdvanceWorkflowRun(ctx, parent.ID)
	if err != nil || !final {
		t.Fatalf("advance of the cancelled run = final %v, %v", final, err)
	}
	X := domain.StateCancelled
	if got, want := f.states(ctx, steps, a, b, c, d), []domain.State{domain.StateSucceeded, X, X, X}; !slices.Equal(got, want) {
		t.Fatalf("steps are %v, want %v", got, want)
	}
	if _, err := f.eng.RunLease(ctx, steps[b]); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("lease of the cancelled step: %v, want ErrNotFound", err)
	}
}

// A step is queued and dispatched in one transaction: when the dispatch
// fails, the advance records nothing, and a later advance queues the step.
func TestAdvanceWorkflowRun_DispatchFailureQueuesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	as := assets(2)
	w := f.store.addWorkflow("t1", "wf", 1, 0, as)
	parent, err := f.eng.Queue(ctx, f.pending(ctx, nil, &w.ID), "triggered")
	if err != nil {
		t.Fatal(err)
	}
	if _, how, err := f.eng.StartRun(ctx, parent.ID, engine.SlotLimits{}); err != nil || how != engine.Started {
		t.Fatalf("StartRun = %v, %v", how, err)
	}
	if err := f.eng.StartWorkflowSteps(ctx, parent.ID); err != nil {
		t.Fatal(err)
	}
	f.jobs.take()
	f.jobs.fail = errBoom
	if _, err := f.eng.AdvanceWorkflowRun(ctx, parent.ID); !errors.Is(err, errBoom) {
		t.Fatalf("advance with a failing dispatcher = %v, want the dispatch error", err)
	}
	children, _ := f.store.RunChildren(ctx, parent.ID)
	for _, c := range children {
		if c.State != domain.StatePending || len(f.store.eventsOf(c.ID)) != 0 {
			t.Fatalf("step %s is %s with history %v after the failed advance, want pending and none", c.ID, c.State, f.store.eventsOf(c.ID))
		}
	}
	f.jobs.fail = nil
	if _, err := f.eng.AdvanceWorkflowRun(ctx, parent.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.jobs.take(); len(got) != 2 {
		t.Fatalf("dispatched %v, want both steps", got)
	}
}

// A tenant runs at most MaxRunning runs at once, and they start oldest
// first; a freed slot goes to the oldest run still queued.
func TestClaimNext_TenantCapOldestFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	runs := make([]*domain.Run, 4)
	for i := range runs {
		runs[i] = f.queued(ctx)
	}
	lim := engine.SlotLimits{MaxRunning: 2}
	if full, err := f.eng.SlotsFull(ctx, lim); err != nil || full {
		t.Fatalf("SlotsFull before any start = %v, %v", full, err)
	}
	first := f.claim(ctx, lim, runs[0].ID)
	f.claim(ctx, lim, runs[1].ID)
	if l, err := f.eng.RunLease(ctx, first.ID); err != nil || l.WorkerID != "worker-1" || l.Attempt != 1 {
		t.Fatalf("lease of the claimed run = %+v, %v", l, err)
	}
	started, wait, err := f.eng.ClaimNext(ctx, lim, "worker-1")
	if err != nil || !wait || started != nil {
		t.Fatalf("ClaimNext with every slot taken = %+v, wait %v, %v; want wait", started, wait, err)
	}
	if full, err := f.eng.SlotsFull(ctx, lim); err != nil || !full {
		t.Fatalf("SlotsFull with every slot taken = %v, %v", full, err)
	}
	f.settle(ctx, first, domain.StateSucceeded)
	f.claim(ctx, lim, runs[2].ID)
	if got := f.get(ctx, runs[3].ID).State; got != domain.StateQueued {
		t.Fatalf("the newest run is %s, want still queued", got)
	}
}

// StartRun of a run with an asset starts it only as the head of its
// tenant's queue: asked for a newer run it starts nothing (the claim of
// the head it tried is rolled back) and says so.
func TestStartRun_OnlyTheOldestQueuedStarts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	older, newer := f.queued(ctx), f.queued(ctx)
	lim := engine.SlotLimits{MaxRunning: 5}
	if _, _, err := f.eng.StartRun(ctx, newer.ID, lim); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("StartRun(newer) = %v, want ErrConflict", err)
	}
	for _, r := range []*domain.Run{older, newer} {
		if got := f.get(ctx, r.ID).State; got != domain.StateQueued {
			t.Fatalf("run is %s after the refused start, want queued", got)
		}
	}
	if _, err := f.eng.RunLease(ctx, older.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("lease after the refused start: %v, want none", err)
	}
	run, how, err := f.eng.StartRun(ctx, older.ID, lim)
	if err != nil || how != engine.Started || run.State != domain.StateRunning {
		t.Fatalf("StartRun(older) = %+v, %v, %v; want started", run, how, err)
	}
	if _, how, err := f.eng.StartRun(ctx, older.ID, lim); err != nil || how != engine.NotQueued {
		t.Fatalf("StartRun of a running run = %v, %v; want NotQueued", how, err)
	}
	if _, how, err := f.eng.StartRun(ctx, newer.ID, engine.SlotLimits{MaxRunning: 1}); err != nil || how != engine.MustWait {
		t.Fatalf("StartRun with the slot taken = %v, %v; want MustWait", how, err)
	}
}

// Slots are counted per tenant: one tenant's full slots and backlog never
// keep another tenant's runs from starting.
func TestClaimNext_SlotsArePerTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	busy, quiet := tenantCtx("busy"), tenantCtx("quiet")
	var backlog []*domain.Run
	for range 5 {
		backlog = append(backlog, f.queued(busy))
	}
	other := f.queued(quiet)
	lim := engine.SlotLimits{MaxRunning: 1}
	f.claim(busy, lim, backlog[0].ID)
	if _, wait, err := f.eng.ClaimNext(busy, lim, "worker-1"); err != nil || !wait {
		t.Fatalf("busy tenant's second claim = wait %v, %v; want wait", wait, err)
	}
	if full, err := f.eng.SlotsFull(quiet, lim); err != nil || full {
		t.Fatalf("quiet tenant's SlotsFull = %v, %v; want free", full, err)
	}
	f.claim(quiet, lim, other.ID)
	// Nothing of one tenant is visible to the other's claims.
	if started, wait, err := f.eng.ClaimNext(tenantCtx("idle"), lim, "worker-1"); err != nil || wait || started != nil {
		t.Fatalf("claim of a tenant with nothing queued = %+v, wait %v, %v; want nothing", started, wait, err)
	}
}

// StartsPerMinute caps how many runs of a tenant start in any minute,
// whatever the free slots.
func TestClaimNext_StartRate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	runs := []*domain.Run{f.queued(ctx), f.queued(ctx), f.queued(ctx)}
	lim := engine.SlotLimits{StartsPerMinute: 2}
	f.settle(ctx, f.claim(ctx, lim, runs[0].ID), domain.StateSucceeded)
	f.claim(ctx, lim, runs[1].ID)
	if started, wait, err := f.eng.ClaimNext(ctx, lim, "worker-1"); err != nil || !wait || started != nil {
		t.Fatalf("third start in a minute = %+v, wait %v, %v; want wait", started, wait, err)
	}
}

// A workflow's cap on active runs is the latest version's, counts the runs
// of every version, and lets the oldest queued runs start first.
func TestStartRun_WorkflowCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	v1 := f.store.addWorkflow("t1", "nightly", 1, 0, nil)
	v2 := f.store.addWorkflow("t1", "nightly", 2, 1, nil)
	queue := func(w *domain.Workflow) *domain.Run {
		r, err := f.eng.Queue(ctx, f.pending(ctx, nil, &w.ID), "triggered")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first, second := queue(v1), queue(v2)
	start := func(r *domain.Run, want engine.StartOutcome) {
		t.Helper()
		if _, how, err := f.eng.StartRun(ctx, r.ID, engine.SlotLimits{}); err != nil || how != want {
			t.Fatalf("StartRun = %v, %v; want %v", how, err, want)
		}
	}
	start(second, engine.MustWait) // the older run comes first
	start(first, engine.Started)
	start(second, engine.MustWait) // the cap of 1 is taken, by a run of v1
	if _, err := f.eng.FinishRun(ctx, first.ID, domain.StateSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	start(second, engine.Started)
}

// fixedRand always draws n-1 from [0, n): full jitter at its maximum.
type fixedRand struct{}

func (fixedRand) Int64N(n int64) int64 { return n - 1 }

// The retry decision: another attempt while the policy has attempts left,
// after the policy's backoff for that attempt (exponential, capped), and
// the end of the run after the last.
func TestDecideRetry(t *testing.T) {
	t.Parallel()
	p := domain.RetryPolicy{MaxAttempts: 4, InitialInterval: "1s", MaxInterval: "3s", Multiplier: 2, Jitter: domain.JitterNone}
	full := p
	full.Jitter = domain.JitterFull
	for _, tc := range []struct {
		name    string
		p       domain.RetryPolicy
		attempt int
		to      domain.State
		want    engine.RetryDecision
	}{
		{"first failure", p, 1, domain.StateFailed, engine.RetryDecision{Retry: true, Delay: time.Second, Reason: "attempt 1 of 4 failed"}},
		{"second failure doubles", p, 2, domain.StateFailed, engine.RetryDecision{Retry: true, Delay: 2 * time.Second, Reason: "attempt 2 of 4 failed"}},
		{"third is capped", p, 3, domain.StateTimeout, engine.RetryDecision{Retry: true, Delay: 3 * time.Second, Reason: "attempt 3 of 4 timeout"}},
		{"last attempt ends the run", p, 4, domain.StateFailed, engine.RetryDecision{}},
		{"past the last", p, 5, domain.StateFailed, engine.RetryDecision{}},
		{"one attempt never retries", domain.DefaultRetryPolicy, 1, domain.StateFailed, engine.RetryDecision{}},
		{"full jitter at most the backoff", full, 2, domain.StateFailed, engine.RetryDecision{Retry: true, Delay: 2 * time.Second, Reason: "attempt 2 of 4 failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := engine.DecideRetry(tc.p, tc.attempt, tc.to, fixedRand{}); got != tc.want {
				t.Fatalf("DecideRetry = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Settling a failed attempt with a retry queues the next attempt, raised,
// dispatched after the decided delay, with no moment in which the run is
// failed for good; the attempt after the last ends the run, and a report
// for an attempt the run is no longer at changes nothing.
func TestSettleRun_RetriesThenEnds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	p := domain.RetryPolicy{MaxAttempts: 2, InitialInterval: "10m", MaxInterval: "1h", Jitter: domain.JitterNone}
	run := f.queued(ctx)
	f.jobs.take()
	lim := engine.SlotLimits{}
	first := f.claim(ctx, lim, run.ID)

	d := engine.DecideRetry(p, first.Attempt, domain.StateFailed, nil)
	before := time.Now()
	out := "boom\n"
	got, err := f.eng.SettleRun(ctx, engine.SettleInput{ID: run.ID, Attempt: 1, To: domain.StateFailed, Message: "exit 1",
		Output: &out, Retry: d.Retry, RetryDelay: d.Delay, RetryReason: d.Reason})
	after := time.Now()
	if err != nil || got.State != domain.StateQueued || got.Attempt != 2 {
		t.Fatalf("settle with retry = %+v, %v; want queued at attempt 2", got, err)
	}
	f.jobs.mu.Lock()
	jobs := f.jobs.jobs
	f.jobs.mu.Unlock()
	if len(jobs) != 1 || jobs[0].at.Before(before.Add(10*time.Minute)) || jobs[0].at.After(after.Add(10*time.Minute)) {
		t.Fatalf("dispatched %+v, want one job 10m after the settle", jobs)
	}
	f.jobs.take()
	var path []domain.State
	for _, e := range f.store.eventsOf(run.ID) {
		path = append(path, e.To)
	}
	if want := []domain.State{domain.StateQueued, domain.StateRunning, domain.StateFailed, domain.StatePending, domain.StateQueued}; !slices.Equal(path, want) {
		t.Fatalf("history %v, want %v", path, want)
	}
	if _, err := f.eng.SettleRun(ctx, engine.SettleInput{ID: run.ID, Attempt: 1, To: domain.StateSucceeded}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("late report of attempt 1 = %v, want ErrConflict", err)
	}

	second := f.claim(ctx, lim, run.ID)
	if second.Attempt != 2 {
		t.Fatalf("second start at attempt %d", second.Attempt)
	}
	d = engine.DecideRetry(p, second.Attempt, domain.StateTimeout, nil)
	if d.Retry {
		t.Fatalf("decision after the last attempt = %+v, want the end", d)
	}
	got, err = f.eng.SettleRun(ctx, engine.SettleInput{ID: run.ID, Attempt: 2, To: domain.StateTimeout, Message: "timed out", Retry: d.Retry})
	if err != nil || got.State != domain.StateTimeout || !got.State.IsTerminal() || got.ErrorMessage != "timed out" {
		t.Fatalf("final settle = %+v, %v; want timeout", got, err)
	}
	if jobs := f.jobs.take(); len(jobs) != 0 {
		t.Fatalf("dispatched %v after the last attempt", jobs)
	}
	if _, err := f.eng.RunLease(ctx, run.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("lease after the end: %v, want none", err)
	}
}

// PutRunLog keeps the last MaxRunLogBytes bytes, on a rune boundary, and
// never stores NUL or invalid UTF-8.
func TestPutRunLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := tenantCtx("t1")
	run := f.queued(ctx)
	// The cut falls inside the two bytes of é: the whole rune goes.
	long := "abé" + strings.Repeat("x", domain.MaxRunLogBytes-1)
	if err := f.eng.PutRunLog(ctx, run.ID, long, false); err != nil {
		t.Fatal(err)
	}
	l := f.store.data.logs[run.ID]
	if l.Content != strings.Repeat("x", domain.MaxRunLogBytes-1) || !l.Truncated {
		t.Fatalf("kept %d bytes, truncated %v; want the last %d whole runes, truncated", len(l.Content), l.Truncated, domain.MaxRunLogBytes-1)
	}
	if err := f.eng.PutRunLog(ctx, run.ID, "a\x00b\xff", false); err != nil {
		t.Fatal(err)
	}
	if l := f.store.data.logs[run.ID]; l.Content != `a\x00b`+"\uFFFD" || l.Truncated {
		t.Fatalf("kept %q, truncated %v", l.Content, l.Truncated)
	}
}
