package runtime_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

// Observed runs queued for two tenants before any worker runs start and
// succeed in batches (the first claim of a tenant settles many of them in
// one transaction, with one start time), each with its full history and
// output, each visible to its tenant only; a run with work to do queued
// among them still runs its step.
func TestObservedRunsSettleInBatchesPerTenant(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		cfg := fastConfig(t)
		cfg.MaxRunningPerTenant = 2
		db := runtime.DB{Pool: store.SQLDB(), Postgres: store.Dialect() == repository.Postgres, TxFrom: repository.SQLTx}
		d, err := runtime.NewDispatcher(db, cfg.Queue, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		svc := service.New(store, d, cfg.ComputePolicy())
		type tenantRuns struct {
			ctx      context.Context
			observed []uuid.UUID
			step     uuid.UUID
		}
		var tenants []*tenantRuns
		for _, prefix := range []string{"batch-a", "batch-b"} {
			id := testdb.TenantID(prefix)
			if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: id}); err != nil {
				t.Fatal(err)
			}
			tr := &tenantRuns{ctx: domain.WithTenant(context.Background(), id)}
			obs, err := svc.CreateAsset(tr.ctx, service.CreateAssetInput{Name: "observed"})
			if err != nil {
				t.Fatal(err)
			}
			step, err := svc.CreateAsset(tr.ctx, service.CreateAssetInput{Name: "step", Compute: cmd(script(t, "step.sh"), nil)})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				if i == 20 {
					r, _, err := svc.TriggerRun(tr.ctx, service.CreateRunInput{AssetID: &step.ID})
					if err != nil {
						t.Fatal(err)
					}
					tr.step = r.ID
				}
				r, _, err := svc.TriggerRun(tr.ctx, service.CreateRunInput{AssetID: &obs.ID})
				if err != nil {
					t.Fatal(err)
				}
				tr.observed = append(tr.observed, r.ID)
			}
			tenants = append(tenants, tr)
		}
		rt, err := runtime.New(svc, svc.Engine(), d, cfg, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = stopWithin(rt, 5*time.Second) })

		for i, tr := range tenants {
			other := tenants[1-i]
			all := append(slices.Clone(tr.observed), tr.step)
			if !testutil.Eventually(30*time.Second, func() bool {
				n, err := svc.CountRuns(tr.ctx, domain.RunFilter{State: domain.StateSucceeded})
				return err == nil && int(n) == len(all)
			}) {
				t.Fatalf("tenant %d: not every run succeeded", i)
			}
			starts := map[time.Time]int{}
			for _, id := range tr.observed {
				run, err := svc.GetRun(tr.ctx, id)
				if err != nil || run.State != domain.StateSucceeded || run.StartedAt == nil {
					t.Fatalf("observed run = %+v, %v", run, err)
				}
				starts[*run.StartedAt]++
				evs, err := svc.RunEvents(tr.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				var moves []string
				for _, e := range evs {
					moves = append(moves, string(e.From)+">"+string(e.To))
				}
				if !slices.Equal(moves, []string{"pending>queued", "queued>running", "running>succeeded"}) {
					t.Fatalf("history of an observed run = %v", moves)
				}
				if l, err := svc.RunLog(tr.ctx, id); err != nil || l.Content != "observed asset: nothing to run\n" {
					t.Fatalf("output of an observed run = %+v, %v", l, err)
				}
				if _, err := svc.GetRun(other.ctx, id); !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("the other tenant reads the run: %v", err)
				}
				if _, err := svc.RunEvents(other.ctx, id); !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("the other tenant reads the run's history: %v", err)
				}
			}
			if most := slices.Max(slices.Collect(maps.Values(starts))); most < 2 {
				t.Fatalf("tenant %d: every observed run started on its own (%d start times for %d runs), want batches", i, len(starts), len(tr.observed))
			}
			if l, err := svc.RunLog(tr.ctx, tr.step); err != nil || l.Content == "observed asset: nothing to run\n" || l.Content == "" {
				t.Fatalf("output of the step = %+v, %v; want the step's own", l, err)
			}
		}
	})
}
