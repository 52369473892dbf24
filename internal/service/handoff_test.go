package service_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// SettleAndClaimNext ends an attempt and, in the same transaction, starts
// the tenant's next queued run in the slot it freed; a failure anywhere
// leaves both as they were, and it never settles or claims another
// tenant's runs.
func TestSettleAndClaimNext(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		queue := func(tn *tenant, asset *domain.Asset) *domain.Execution {
			t.Helper()
			r, _, err := svc.CreateRun(tn.ctx, service.CreateRunInput{AssetID: &asset.ID})
			mustOK(t, err)
			r, err = svc.TransitionRun(tn.ctx, domain.Transition{ID: r.ID, From: domain.StatePending, To: domain.StateQueued})
			mustOK(t, err)
			return r
		}
		state := func(tn *tenant, id uuid.UUID) domain.State {
			t.Helper()
			r, err := svc.GetRun(tn.ctx, id)
			mustOK(t, err)
			return r.State
		}
		// The other tenant's run is queued first: oldest of all, never
		// this tenant's to claim.
		theirs := queue(other, other.asset("theirs"))
		x := a.asset("x")
		r1, r2, r3 := queue(a, x), queue(a, x), queue(a, x)
		one := service.SlotLimits{MaxRunning: 1}
		started, _, err := svc.ClaimNext(a.ctx, one, "w1")
		mustOK(t, err)
		if started == nil || started.ID != r1.ID {
			t.Fatalf("ClaimNext = %+v, want the oldest run", started)
		}
		if _, wait, err := svc.ClaimNext(a.ctx, one, "w1"); err != nil || !wait {
			t.Fatalf("ClaimNext at the cap = wait %v, %v; want wait", wait, err)
		}

		// The slot passes from r1 to r2.
		done, next, err := svc.SettleAndClaimNext(a.ctx, service.SettleInput{ID: r1.ID, Attempt: 1, To: domain.StateSucceeded}, one, "w1")
		mustOK(t, err)
		if done == nil || done.ID != r1.ID || done.State != domain.StateSucceeded {
			t.Fatalf("settled = %+v, want r1 succeeded", done)
		}
		if next == nil || next.ID != r2.ID || next.State != domain.StateRunning {
			t.Fatalf("claimed = %+v, want r2 running", next)
		}
		if l, err := svc.RunLease(a.ctx, r2.ID); err != nil || l.WorkerID != "w1" || l.Attempt != 1 {
			t.Fatalf("lease of the claimed run = %+v, %v", l, err)
		}

		// A settle that fails rolls back the claim with it.
		boom := errors.New("lost between settle and claim")
		restore := service.SettleFaultFor(r2.ID, boom)
		if _, _, err := svc.SettleAndClaimNext(a.ctx, service.SettleInput{ID: r2.ID, Attempt: 1, To: domain.StateSucceeded}, one, "w1"); !errors.Is(err, boom) {
			t.Fatalf("SettleAndClaimNext with a fault = %v, want the fault", err)
		}
		restore()
		if st := state(a, r2.ID); st != domain.StateRunning {
			t.Fatalf("after the fault r2 is %s, want running", st)
		}
		if st := state(a, r3.ID); st != domain.StateQueued {
			t.Fatalf("after the fault r3 is %s, want queued", st)
		}
		if _, _, err := svc.SettleAndClaimNext(a.ctx, service.SettleInput{ID: r2.ID, Attempt: 2, To: domain.StateSucceeded}, one, "w1"); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("settling an attempt the run is not at = %v, want ErrConflict", err)
		}

		// Another tenant can neither settle this tenant's run nor, through
		// it, claim anything.
		if _, _, err := svc.SettleAndClaimNext(other.ctx, service.SettleInput{ID: r2.ID, Attempt: 1, To: domain.StateFailed}, one, "w2"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("another tenant settling r2 = %v, want ErrNotFound", err)
		}
		if st := state(a, r2.ID); st != domain.StateRunning {
			t.Fatalf("after another tenant's try r2 is %s, want running", st)
		}
		if st := state(other, theirs.ID); st != domain.StateQueued {
			t.Fatalf("the other tenant's run is %s, want queued", st)
		}

		// The last one: nothing left to claim.
		_, next, err = svc.SettleAndClaimNext(a.ctx, service.SettleInput{ID: r2.ID, Attempt: 1, To: domain.StateSucceeded}, one, "w1")
		mustOK(t, err)
		if next == nil || next.ID != r3.ID {
			t.Fatalf("claimed = %+v, want r3", next)
		}
		_, next, err = svc.SettleAndClaimNext(a.ctx, service.SettleInput{ID: r3.ID, Attempt: 1, To: domain.StateSucceeded}, one, "w1")
		mustOK(t, err)
		if next != nil {
			t.Fatalf("claimed %+v with nothing queued", next)
		}
		if st := state(other, theirs.ID); st != domain.StateQueued {
			t.Fatalf("the other tenant's run is %s, want still queued", st)
		}
	})
}
