package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/engine"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// faultyStore is a store whose reads of a workflow run's steps fail with
// the armed error: the engine reads them to advance the workflow run, after
// a settled step has been finished, so the fault falls between the two, as
// a worker dying there would.
type faultyStore struct {
	domain.Store
	mu     sync.Mutex
	parent uuid.UUID
	err    error
}

// arm makes reads of parent's steps fail with err until the returned
// function is called.
func (f *faultyStore) arm(parent uuid.UUID, err error) (restore func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parent, f.err = parent, err
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.err = nil
	}
}

func (f *faultyStore) RunChildren(ctx context.Context, parentID uuid.UUID) ([]domain.Run, error) {
	f.mu.Lock()
	err := f.err
	if parentID != f.parent {
		err = nil
	}
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.Store.RunChildren(ctx, parentID)
}

// A worker that dies after a step has finished but before its workflow run
// has moved on must not leave a finished step in a workflow run that never
// moves: the fault between the two rolls both back, and settling again
// finishes the step and advances the workflow run together.
func TestSettleRun_FaultBetweenFinishAndAdvanceLeavesNoStalledWorkflow(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		faulty := &faultyStore{Store: b.Store}
		eng := engine.New(faulty, nil)
		x, y := a.asset("x"), a.asset("y")
		a.edge(x, y)
		wf, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "wf", Assets: []string{x.Name, y.Name}})
		mustOK(t, err)
		parent, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{WorkflowID: &wf.ID})
		mustOK(t, err)
		for _, tr := range []domain.Transition{
			{ID: parent.ID, From: domain.StatePending, To: domain.StateQueued},
			{ID: parent.ID, From: domain.StateQueued, To: domain.StateRunning},
		} {
			_, err := eng.TransitionRun(a.ctx, tr)
			mustOK(t, err)
		}
		mustOK(t, eng.StartWorkflowSteps(a.ctx, parent.ID))
		_, err = eng.AdvanceWorkflowRun(a.ctx, parent.ID)
		mustOK(t, err)
		steps, err := svc.RunSteps(a.ctx, parent.ID)
		mustOK(t, err)
		stepOf := map[string]domain.Run{}
		for _, s := range steps {
			stepOf[s.AssetName] = s.Run
		}
		sx, sy := stepOf["x"], stepOf["y"]
		started, wait, err := eng.ClaimNext(a.ctx, engine.SlotLimits{MaxRunning: 10}, "worker-1")
		mustOK(t, err)
		if wait || started == nil || started.ID != sx.ID {
			t.Fatalf("ClaimNext = %v, %+v; want step x started", wait, started)
		}
		if l, err := eng.RunLease(a.ctx, sx.ID); err != nil || l.WorkerID != "worker-1" || l.Attempt != 1 {
			t.Fatalf("lease of the started step = %+v, %v", l, err)
		}

		boom := errors.New("worker lost between finish and advance")
		restore := faulty.arm(parent.ID, boom)
		out := "done\n"
		in := engine.SettleInput{ID: sx.ID, Attempt: 1, To: domain.StateSucceeded, Output: &out}
		if _, err := eng.SettleRun(a.ctx, in); !errors.Is(err, boom) {
			t.Fatalf("SettleRun with the fault = %v, want the fault", err)
		}
		state := func(id domain.Run) domain.State {
			t.Helper()
			r, err := svc.GetRun(a.ctx, id.ID)
			mustOK(t, err)
			return r.State
		}
		if st := state(sx); st != domain.StateRunning {
			t.Fatalf("after the fault step x is %s, want still running (to be settled again)", st)
		}
		if st := state(sy); st != domain.StatePending {
			t.Fatalf("after the fault step y is %s, want pending", st)
		}
		if _, err := eng.RunLease(a.ctx, sx.ID); err != nil {
			t.Fatalf("after the fault the lease of step x is gone: %v", err)
		}
		restore()

		if _, err := eng.SettleRun(a.ctx, engine.SettleInput{ID: sx.ID, Attempt: 2, To: domain.StateSucceeded}); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("settling an attempt the run is not at = %v, want ErrConflict", err)
		}
		if _, err := eng.SettleRun(a.ctx, in); err != nil {
			t.Fatalf("SettleRun again: %v", err)
		}
		if st := state(sx); st != domain.StateSucceeded {
			t.Fatalf("step x is %s, want succeeded", st)
		}
		if st := state(sy); st != domain.StateQueued {
			t.Fatalf("step y is %s, want queued by the advance in the same transaction", st)
		}
		if _, err := eng.RunLease(a.ctx, sx.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("lease of the finished step: %v, want ErrNotFound", err)
		}
		if _, err := eng.SettleRun(a.ctx, in); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("settling a finished step again = %v, want ErrConflict", err)
		}
	})
}

// The lease sweeper drops the lease a lost attempt left behind, but never
// the lease of a later attempt that another worker took meanwhile (the run
// was retried and claimed again between the sweeper's two reads): that
// attempt would run on with no lease, and its worker's death would go
// unnoticed. Another tenant cannot drop it either.
func TestDropRunLease_LeavesALaterAttemptsLease(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		eng := svc.Engine()
		x := a.asset("x")
		run, _, err := svc.CreateRun(a.ctx, service.CreateRunInput{AssetID: &x.ID})
		mustOK(t, err)
		mustOK(t, b.Store.RunLeaseTake(a.ctx, &domain.RunLease{RunID: run.ID, Attempt: 2, WorkerID: "worker-2"}))

		mustOK(t, eng.DropRunLease(a.ctx, run.ID, 1))
		if l, err := eng.RunLease(a.ctx, run.ID); err != nil || l.Attempt != 2 || l.WorkerID != "worker-2" {
			t.Fatalf("after dropping attempt 1's lease, the lease is %+v, %v; want attempt 2's", l, err)
		}
		mustOK(t, eng.DropRunLease(other.ctx, run.ID, 2))
		if _, err := eng.RunLease(a.ctx, run.ID); err != nil {
			t.Fatalf("another tenant dropped the lease: %v", err)
		}
		mustOK(t, eng.DropRunLease(a.ctx, run.ID, 2))
		if _, err := eng.RunLease(a.ctx, run.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("after dropping attempt 2's lease: %v, want ErrNotFound", err)
		}
	})
}
