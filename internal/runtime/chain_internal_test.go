package runtime

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// TestJobOfARunStartedElsewhereStartsTheNext holds the job of a run that
// another job already started (it took that run as the head of the tenant's
// queue and left its own run queued) to the right it carries: to start the
// tenant's next queued run now. Before, it returned at once, and the run
// left queued waited until the other job's step ended (a retry after a
// worker's SIGKILL waited 25 s).
//
// The jobs are worked by hand, in the order that shows it: the runtime is
// not started, so River works none of them.
func TestJobOfARunStartedElsewhereStartsTheNext(t *testing.T) {
	t.Parallel()
	store := testdb.Open(t, testdb.Shared(t))
	step, err := filepath.Abs(filepath.Join("testdata", "step.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Policy:              Policy{Commands: []string{step}},
		MaxRunningPerTenant: 10,
		Workers:             2,
		Lease:               time.Minute,
		WaitPoll:            50 * time.Millisecond,
		CancelPoll:          50 * time.Millisecond,
		KillGrace:           500 * time.Millisecond,
		Sandbox:             SandboxConfig{Isolation: IsolationBwrap},
		Queue:               "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16],
	}
	d, err := NewDispatcher(DB{Pool: store.SQLDB(), Postgres: true, TxFrom: repository.SQLTx}, cfg.Queue, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, d, cfg.ComputePolicy())
	rt, err := New(svc, svc.Engine(), d, cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	tenant := testdb.TenantID("chain")
	if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: tenant}); err != nil {
		t.Fatal(err)
	}
	ctx := domain.WithTenant(context.Background(), tenant)
	asset := func(name string, env map[string]string) uuid.UUID {
		a, err := svc.CreateAsset(ctx, service.CreateAssetInput{Name: name,
			Compute: &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{step}, Env: env}})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	slowAsset, quickAsset := asset("slow", map[string]string{"HOLD": "60"}), asset("quick", nil)
	trigger := func(asset uuid.UUID) uuid.UUID {
		run, _, err := svc.TriggerRun(ctx, service.CreateRunInput{AssetID: &asset})
		if err != nil {
			t.Fatal(err)
		}
		return run.ID
	}
	head, next := trigger(slowAsset), trigger(quickAsset) // head is the older
	state := func(id uuid.UUID) domain.State {
		run, err := svc.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return run.State
	}

	// next's job comes first: it starts the head (the slow step) and runs
	// it, leaving its own run queued.
	nextJob := make(chan error, 1)
	go func() { nextJob <- rt.workRunJob(ctx, next) }()
	deadline := time.Now().Add(30 * time.Second)
	for state(head) != domain.StateRunning {
		if time.Now().After(deadline) {
			t.Fatalf("the head run is %s, want running", state(head))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := state(next); s != domain.StateQueued {
		t.Fatalf("next run is %s while the head runs, want queued", s)
	}

	// The head's job then finds its run started elsewhere: it starts and
	// runs next, while the head's step is still running.
	if err := rt.workRunJob(ctx, head); err != nil {
		t.Fatalf("the head's job: %v", err)
	}
	if s := state(next); s != domain.StateSucceeded {
		t.Errorf("next run is %s after the head's job, want success", s)
	}
	if s := state(head); s != domain.StateRunning {
		t.Errorf("head run is %s, want still running (its step holds 60 s)", s)
	}

	// Cancelling the head ends the slow step and next's job with it.
	if _, err := svc.CancelRun(ctx, head, "test over"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-nextJob:
		if err != nil {
			t.Errorf("next's job: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("next's job still runs 30 s after its step was cancelled")
	}
}
