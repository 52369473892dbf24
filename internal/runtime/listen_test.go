package runtime_test

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// neverPoll is a poll interval no test outlives: a run these workers start
// was found through the notification of its job's insert.
const neverPoll = time.Hour

// TestRunsStartOnNotification: on PostgreSQL workers that never poll still
// start each run triggered, and each step of a workflow as the one before
// it ends, woken by the notification of the job's insert.
func TestRunsStartOnNotification(t *testing.T) {
	t.Parallel()
	cfg := fastConfig(t)
	cfg.FetchPollInterval = neverPoll
	r := newRig(t, testdb.Open(t, testdb.Shared(t)), cfg, "")
	a := r.asset("observed", nil)
	// The first run may be found by the fetch the workers make as they
	// start; the later ones only by notification.
	for i := range 3 {
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		if done := r.wait(run.ID, 30*time.Second); done.State != domain.StateSucceeded {
			t.Fatalf("run %d = %s %s", i, done.State, done.ErrorMessage)
		}
	}
	var chain []*domain.Asset
	for i := range 5 {
		chain = append(chain, r.asset(fmt.Sprintf("chain.%d", i), nil))
		if i > 0 {
			r.edge(chain[i-1], chain[i])
		}
	}
	w := r.workflow("chain", nil, chain...)
	run := r.trigger(service.CreateRunInput{WorkflowID: &w.ID})
	if done := r.wait(run.ID, 30*time.Second); done.State != domain.StateSucceeded {
		t.Fatalf("workflow run = %s %s", done.State, done.ErrorMessage)
	}
	steps, err := r.svc.RunSteps(r.ctx, run.ID)
	if err != nil || len(steps) != len(chain) {
		t.Fatalf("steps = %v, %v", steps, err)
	}
	for _, s := range steps {
		if s.State != domain.StateSucceeded {
			t.Errorf("step %s = %s", s.AssetName, s.State)
		}
	}
}

// TestAPINodeWakesWorkers: a run triggered on a node that works no runs (a
// Dispatcher and no Runtime, its own pool) is started by the workers of
// another node that never poll: the notification goes out from the
// inserting node.
func TestAPINodeWakesWorkers(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t)
	cfg := fastConfig(t)
	cfg.FetchPollInterval = neverPoll
	worker := newRig(t, testdb.Open(t, db), cfg, "")
	apiStore := testdb.Open(t, db)
	d, err := runtime.NewDispatcher(runtime.DB{Pool: apiStore.SQLDB(), Postgres: true, TxFrom: repository.SQLTx}, cfg.Queue, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	api := service.New(apiStore, d, cfg.ComputePolicy())
	a, err := api.CreateAsset(worker.ctx, service.CreateAssetInput{Name: "observed"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		run, _, err := api.TriggerRun(worker.ctx, service.CreateRunInput{AssetID: &a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if done := worker.wait(run.ID, 30*time.Second); done.State != domain.StateSucceeded {
			t.Fatalf("run %d = %s %s", i, done.State, done.ErrorMessage)
		}
	}
}

// TestSQLiteWorkersPollByDefault: on SQLite, which has no notifications,
// workers left to the default interval find runs and their steps by
// polling.
func TestSQLiteWorkersPollByDefault(t *testing.T) {
	t.Parallel()
	cfg := fastConfig(t)
	cfg.FetchPollInterval = 0
	r := newRig(t, testdb.OpenSQLite(t), cfg, "")
	a := r.asset("a", nil)
	b := r.asset("b", nil)
	r.edge(a, b)
	w := r.workflow("ab", nil, a, b)
	run := r.trigger(service.CreateRunInput{WorkflowID: &w.ID})
	if done := r.wait(run.ID, 30*time.Second); done.State != domain.StateSucceeded {
		t.Fatalf("workflow run = %s %s", done.State, done.ErrorMessage)
	}
}
