package runtime_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/engine"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// An attempt whose worker stopped renewing its lease (it died) is failed as
// lost by a live worker and retried per its policy; the live worker's own
// long attempt, whose lease it renews, is never taken for lost.
func TestLostWorkerAttemptIsFailedAndRetried(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		cfg := fastConfig(t)
		cfg.HeartbeatTimeout = time.Second
		r := newRig(t, store, cfg, "")
		retry := &domain.RetryPolicy{MaxAttempts: 2, InitialInterval: "10ms", Jitter: domain.JitterNone}
		spec := cmd(script(t, "step.sh"), map[string]string{"HOLD": "3"})
		spec.Retry = retry
		long := r.asset("long", spec)
		quick := cmd(script(t, "step.sh"), nil)
		quick.Retry = retry
		orphan := r.asset("orphan", quick)

		// A dead worker's attempt: started under its name, never renewed.
		run, _, err := r.svc.CreateRun(r.ctx, service.CreateRunInput{AssetID: &orphan.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.TransitionRun(r.ctx, domain.Transition{ID: run.ID, From: domain.StatePending, To: domain.StateQueued}); err != nil {
			t.Fatal(err)
		}
		if started, _, err := r.svc.Engine().ClaimNext(r.ctx, engine.SlotLimits{}, "a-worker-that-died"); err != nil || started == nil || started.ID != run.ID {
			t.Fatalf("start as the dead worker: %+v, %v", started, err)
		}
		alive := r.trigger(service.CreateRunInput{AssetID: &long.ID})

		got := r.wait(run.ID, 30*time.Second)
		if got.State != domain.StateSucceeded || got.Attempt != 2 {
			t.Fatalf("the dead worker's run ended %s at attempt %d (%s), want succeeded at attempt 2", got.State, got.Attempt, got.ErrorMessage)
		}
		evs, err := r.svc.RunEvents(r.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(e domain.RunEvent) bool {
			return e.To == domain.StateFailed && e.Attempt == 1 && strings.Contains(e.Reason, "was lost (no heartbeat for 1s)")
		}) {
			t.Fatalf("no event fails attempt 1 as lost: %+v", evs)
		}

		got = r.wait(alive.ID, 30*time.Second)
		if got.State != domain.StateSucceeded || got.Attempt != 1 {
			t.Fatalf("the live worker's 3s step ended %s at attempt %d (%s), want succeeded at attempt 1: its renewed lease must hold", got.State, got.Attempt, got.ErrorMessage)
		}
		if _, err := r.svc.Engine().RunLease(r.ctx, alive.ID); err == nil {
			t.Fatalf("the finished step still has a lease")
		}
	})
}

// Runs of different tenants are claimed fairly: a tenant with a backlog at
// its cap does not keep another tenant's run waiting behind it while River
// workers are free.
func TestTenantDoesNotWaitBehindAnotherTenantsBacklog(t *testing.T) {
	t.Parallel()
	cfg := fastConfig(t)
	cfg.Workers = 4
	cfg.MaxRunningPerTenant = 2
	store := testdb.Open(t, testdb.Shared(t))
	b := newRig(t, store, cfg, "")
	hold := cmd(script(t, "step.sh"), map[string]string{"HOLD": "0.5"})
	slow := b.asset("slow", hold)
	var backlog []*domain.Run
	for range 30 {
		backlog = append(backlog, b.trigger(service.CreateRunInput{AssetID: &slow.ID}))
	}
	aTenant := testdb.TenantID("fair")
	if _, err := b.svc.CreateTenant(domain.WithSystem(b.ctx), domain.Tenant{ID: aTenant}); err != nil {
		t.Fatal(err)
	}
	a := &rig{t: t, store: store, svc: b.svc, rt: b.rt, tenant: aTenant, ctx: domain.WithTenant(b.ctx, aTenant), cfg: cfg}
	quick := a.asset("quick", cmd(script(t, "step.sh"), nil))
	run := a.trigger(service.CreateRunInput{AssetID: &quick.ID})
	done := a.wait(run.ID, 60*time.Second)
	if done.State != domain.StateSucceeded || done.StartedAt == nil {
		t.Fatalf("A's run ended %s: %s", done.State, done.ErrorMessage)
	}
	// B's backlog runs two at a time; A's run starts before B's tenth.
	started := 0
	for _, r := range backlog {
		cur, err := b.svc.GetRun(b.ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.StartedAt != nil && cur.StartedAt.Before(*done.StartedAt) {
			started++
		}
	}
	if started >= 10 {
		t.Fatalf("A's run started after %d of B's 30 queued runs: it waited behind B's backlog", started)
	}
	t.Logf("A's run started after %d of B's queued runs", started)
}
