package service_test

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		x := a.asset("x")
		run, created, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &x.ID, PartitionKey: "2026-11-27"})
		mustOK(t, err)
		if !created || run.State != domain.StatePending || run.Attempt != 1 || run.Trigger != domain.TriggerManual || run.StartedAt != nil {
			t.Fatalf("new run = %+v", run)
		}
		step := func(from, to domain.State, msg string) *domain.Run {
			t.Helper()
			r, err := svc.TransitionRun(a.ctx, domain.Transition{ID: run.ID, From: from, To: to, ErrorMessage: msg})
			mustOK(t, err)
			if r.State != to {
				t.Fatalf("state = %s, want %s", r.State, to)
			}
			return r
		}
		step(domain.StatePending, domain.StateQueued, "")
		r := step(domain.StateQueued, domain.StateRunning, "")
		if r.StartedAt == nil || r.CompletedAt != nil {
			t.Fatalf("running: started %v completed %v", r.StartedAt, r.CompletedAt)
		}
		r = step(domain.StateRunning, domain.StateFailed, "exit status 1")
		if r.CompletedAt == nil || r.CompletedAt.Before(*r.StartedAt) || r.ErrorMessage != "exit status 1" {
			t.Fatalf("failed: %+v", r)
		}
		r = step(domain.StateFailed, domain.StatePending, "")
		if r.Attempt != 2 || r.StartedAt != nil || r.CompletedAt != nil {
			t.Fatalf("retry: attempt %d started %v completed %v", r.Attempt, r.StartedAt, r.CompletedAt)
		}
		step(domain.StatePending, domain.StateQueued, "")
		step(domain.StateQueued, domain.StateRunning, "")
		r = step(domain.StateRunning, domain.StateSucceeded, "")
		if r.ErrorMessage != "" {
			t.Fatalf("succeeded with error %q", r.ErrorMessage)
		}

		got, err := svc.GetRun(a.ctx, run.ID)
		mustOK(t, err)
		if got.State != domain.StateSucceeded || got.Attempt != 2 || got.PartitionKey != "2026-11-27" {
			t.Fatalf("stored run = %+v", got)
		}
		mustOK(t, svc.DeleteRun(a.ctx, run.ID))
		_, err = svc.GetRun(a.ctx, run.ID)
		mustErr(t, err, domain.ErrNotFound)
		mustErr(t, svc.DeleteRun(a.ctx, run.ID), domain.ErrNotFound)
	})
}

func TestRunTransitionsTable(t *testing.T) {
	t.Parallel()
	allowed := map[[2]domain.State]bool{}
	for _, p := range [][2]domain.State{
		{"pending", "queued"}, {"pending", "cancelled"}, {"pending", "skipped"}, {"pending", "upstream_failed"},
		{"queued", "running"}, {"queued", "cancelled"}, {"queued", "skipped"}, {"queued", "upstream_failed"},
		{"running", "succeeded"}, {"running", "failed"}, {"running", "cancelled"}, {"running", "timeout"},
		{"failed", "pending"}, {"timeout", "pending"},
	} {
		allowed[p] = true
	}
	for _, from := range domain.States {
		for _, to := range domain.States {
			err := domain.ValidateTransition(from, to)
			if allowed[[2]domain.State{from, to}] != (err == nil) {
				t.Errorf("%s -> %s: error %v, allowed %v", from, to, err, allowed[[2]domain.State{from, to}])
			}
			if err != nil && !errorsIs(err, domain.ErrConflict) {
				t.Errorf("%s -> %s: error %v is not a conflict", from, to, err)
			}
		}
	}
	mustErr(t, domain.ValidateTransition(domain.StatePending, "exploded"), domain.ErrInvalid)
}

func TestRunConflicts(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		x := a.asset("x")
		run, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &x.ID})
		mustOK(t, err)
		// Illegal transition.
		_, err = svc.TransitionRun(a.ctx, domain.Transition{ID: run.ID, From: domain.StatePending, To: domain.StateSucceeded})
		mustErr(t, err, domain.ErrConflict)
		// Lost compare-and-swap: the run is no longer in From.
		_, err = svc.TransitionRun(a.ctx, domain.Transition{ID: run.ID, From: domain.StateQueued, To: domain.StateRunning})
		mustErr(t, err, domain.ErrConflict)
		got, err := svc.GetRun(a.ctx, run.ID)
		mustOK(t, err)
		if got.State != domain.StatePending {
			t.Fatalf("a refused transition changed the state to %s", got.State)
		}
		_, err = svc.TransitionRun(a.ctx, domain.Transition{ID: uuid.New(), From: domain.StatePending, To: domain.StateQueued})
		mustErr(t, err, domain.ErrNotFound)

		// Racing transitions: exactly one wins.
		const n = 12
		var wg sync.WaitGroup
		wins := make(chan domain.State, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to := domain.StateQueued
				if i%2 == 1 {
					to = domain.StateCancelled
				}
				r, err := svc.TransitionRun(a.ctx, domain.Transition{ID: run.ID, From: domain.StatePending, To: to})
				if err == nil {
					wins <- r.State
				} else if !errorsIs(err, domain.ErrConflict) {
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		close(wins)
		var won []domain.State
		for s := range wins {
			won = append(won, s)
		}
		got, err = svc.GetRun(a.ctx, run.ID)
		mustOK(t, err)
		if len(won) != 1 || got.State != won[0] {
			t.Fatalf("winners %v, stored state %s", won, got.State)
		}

		// Cancelling a finished run is a conflict; cancelling a live one works
		// from whatever state it is in.
		live, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &x.ID})
		mustOK(t, err)
		c, err := svc.CancelRun(a.ctx, live.ID, "operator")
		mustOK(t, err)
		if c.State != domain.StateCancelled || c.ErrorMessage != "operator" || c.CompletedAt == nil {
			t.Fatalf("cancelled = %+v", c)
		}
		_, err = svc.CancelRun(a.ctx, live.ID, "again")
		mustErr(t, err, domain.ErrConflict)
	})
}

func TestRunIdempotencyAndListing(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		x, y := a.asset("x"), a.asset("y")
		w, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "w", Assets: []string{"x", "y"}})
		mustOK(t, err)
		first, created, err := svc.CreateRun(a.ctx, service.CreateRunInput{WorkflowID: &w.ID, IdempotencyKey: "nightly-2026-11-27"})
		mustOK(t, err)
		again, created2, err := svc.CreateRun(a.ctx, service.CreateRunInput{WorkflowID: &w.ID, IdempotencyKey: "nightly-2026-11-27"})
		mustOK(t, err)
		if !created || created2 || again.ID != first.ID {
			t.Fatalf("idempotent create: %v/%v, ids %s %s", created, created2, first.ID, again.ID)
		}
		// Keys are per tenant.
		ox := other.asset("x")
		o, created3, err := svc.CreateRun(other.ctx, service.CreateRunInput{AssetID: &ox.ID, IdempotencyKey: "nightly-2026-11-27"})
		mustOK(t, err)
		if !created3 || o.ID == first.ID {
			t.Fatalf("another tenant's key collided")
		}
		// Concurrent creates with one key make one run.
		var wg sync.WaitGroup
		got := make(chan uuid.UUID, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &y.ID, IdempotencyKey: "burst"})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				got <- r.ID
			}()
		}
		wg.Wait()
		close(got)
		distinct := map[uuid.UUID]bool{}
		for id := range got {
			distinct[id] = true
		}
		if len(distinct) != 1 {
			t.Fatalf("one key made %d runs", len(distinct))
		}

		for range 3 {
			_, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &x.ID, Trigger: domain.TriggerBackfill})
			mustOK(t, err)
		}
		list, err := svc.ListRuns(a.ctx, domain.RunFilter{AssetID: &x.ID}, domain.Page{})
		mustOK(t, err)
		if list.Total != 3 {
			t.Fatalf("runs of x = %d", list.Total)
		}
		for _, r := range list.Items {
			if r.Trigger != domain.TriggerBackfill {
				t.Fatalf("trigger = %s", r.Trigger)
			}
		}
		list, err = svc.ListRuns(a.ctx, domain.RunFilter{WorkflowID: &w.ID}, domain.Page{})
		mustOK(t, err)
		if list.Total != 1 || list.Items[0].ID != first.ID {
			t.Fatalf("runs of w = %+v", list)
		}
		n, err := svc.CountRuns(a.ctx, domain.RunFilter{State: domain.StatePending})
		mustOK(t, err)
		if n != 5 {
			t.Fatalf("pending runs = %d, want 5", n)
		}
		_, err = svc.ListRuns(a.ctx, domain.RunFilter{State: "bogus"}, domain.Page{})
		mustErr(t, err, domain.ErrInvalid)

		for _, in := range []service.CreateRunInput{
			{},
			{AssetID: &x.ID, Trigger: "whenever"},
			{AssetID: ptr(uuid.New())},
			{WorkflowID: ptr(uuid.New())},
		} {
			_, _, err := svc.CreateRun(a.ctx, in)
			if !errorsIs(err, domain.ErrInvalid) && !errorsIs(err, domain.ErrNotFound) {
				t.Errorf("create %+v: error %v", in, err)
			}
		}

		// Deleting the workflow removes its runs.
		mustOK(t, svc.DeleteWorkflow(a.ctx, w.ID))
		_, err = svc.GetRun(a.ctx, first.ID)
		mustErr(t, err, domain.ErrNotFound)
	})
}

// TestRunLogKeepsValidTail stores output larger than the limit, with
// invalid UTF-8 and multi-byte runes: the tail is kept, valid, whole.
func TestRunLogKeepsValidTail(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		x := a.asset("x")
		run, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &x.ID})
		mustOK(t, err)
		out := strings.Repeat("é\xff", 30000) + "the end" // 90,007 bytes; each \xff becomes 3 bytes
		mustOK(t, svc.Engine().PutRunLog(a.ctx, run.ID, out, false))
		l, err := svc.RunLog(a.ctx, run.ID)
		mustOK(t, err)
		if !l.Truncated || len(l.Content) > domain.MaxRunLogBytes || !utf8.ValidString(l.Content) || !strings.HasSuffix(l.Content, "é\uFFFDthe end") {
			t.Fatalf("kept %d bytes, truncated %v, valid %v", len(l.Content), l.Truncated, utf8.ValidString(l.Content))
		}
		mustOK(t, svc.Engine().PutRunLog(a.ctx, run.ID, "short\n", false))
		l, err = svc.RunLog(a.ctx, run.ID)
		mustOK(t, err)
		if l.Content != "short\n" || l.Truncated {
			t.Fatalf("replaced log = %+v", l)
		}
	})
}
