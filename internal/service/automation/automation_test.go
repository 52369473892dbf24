package automation_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/automation"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type world struct {
	runs  *service.Service
	auto  *automation.Service
	clock *clock
	ctx   context.Context
}

func newWorld(t *testing.T, b *testdb.Backend) *world {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	runs := service.New(b.Store, nil, nil)
	auto := automation.New(b.Store, runs, c)
	runs.ObserveRuns(freshness.New(b.Store, c))
	runs.ObserveRuns(auto)
	id := testdb.TenantID("au")
	if _, err := runs.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: id}); err != nil {
		t.Fatal(err)
	}
	return &world{runs: runs, auto: auto, clock: c, ctx: domain.WithTenant(context.Background(), id)}
}

func (w *world) asset(t *testing.T, name string) uuid.UUID {
	t.Helper()
	a, err := w.runs.CreateAsset(w.ctx, service.CreateAssetInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// materialize runs a materialization of asset to success.
func (w *world) materialize(t *testing.T, asset uuid.UUID) {
	t.Helper()
	w.clock.Add(time.Second)
	run, _, err := w.runs.CreateRun(w.ctx, service.CreateRunInput{AssetID: &asset})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []domain.State{domain.StateQueued, domain.StateRunning, domain.StateSucceeded} {
		cur, err := w.runs.GetRun(w.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.runs.TransitionRun(w.ctx, domain.Transition{ID: run.ID, From: cur.State, To: to}); err != nil {
			t.Fatal(err)
		}
	}
}

// automationRuns lists the runs of target started by automations.
func (w *world) automationRuns(t *testing.T, target uuid.UUID) []domain.Run {
	t.Helper()
	l, err := w.runs.ListRuns(w.ctx, domain.RunFilter{AssetID: &target}, domain.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.Run
	for _, r := range l.Items {
		if r.IdempotencyKey != nil && strings.HasPrefix(*r.IdempotencyKey, "automation:") {
			if r.Trigger != domain.TriggerAutomation {
				t.Errorf("automation run %s has trigger %s", r.ID, r.Trigger)
			}
			out = append(out, r)
		}
	}
	return out
}

// evaluate runs two evaluators side by side, a few passes each.
func (w *world) evaluate(t *testing.T, b *testdb.Backend) {
	t.Helper()
	var wg sync.WaitGroup
	for range 2 {
		ev := automation.NewEvaluator(w.auto, 0, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if _, err := ev.RunOnce(context.Background()); err != nil {
					t.Errorf("evaluate: %v", err)
				}
			}
		}()
	}
	wg.Wait()
}

func TestUpstreamMaterializationTriggersOnce(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		raw, other, mart := w.asset(t, "raw"), w.asset(t, "other"), w.asset(t, "mart")
		a, err := w.auto.Create(w.ctx, automation.Input{Name: "refresh-mart", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}, Asset: "mart"})
		if err != nil {
			t.Fatal(err)
		}
		w.evaluate(t, b) // nothing materialized yet
		if n := len(w.automationRuns(t, mart)); n != 0 {
			t.Fatalf("%d runs before any upstream materialized", n)
		}
		w.materialize(t, other) // not watched
		w.materialize(t, raw)
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, mart)); n != 1 {
			t.Fatalf("one upstream materialization started %d runs, want exactly 1", n)
		}
		w.evaluate(t, b) // nothing new: nothing more
		if n := len(w.automationRuns(t, mart)); n != 1 {
			t.Fatalf("re-evaluating started more runs: %d", n)
		}
		w.materialize(t, raw)
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, mart)); n != 2 {
			t.Fatalf("a second upstream materialization: %d runs, want 2", n)
		}
		evs, err := w.auto.Evaluations(w.ctx, a.ID.String(), 50)
		if err != nil {
			t.Fatal(err)
		}
		triggered := 0
		for _, e := range evs {
			if e.Result == domain.EvalTriggered {
				triggered++
				if e.RunID == nil || !strings.Contains(e.Reason, "raw materialized") {
					t.Errorf("triggered evaluation %+v", e)
				}
			}
		}
		if triggered != 2 || evs[len(evs)-1].Result != domain.EvalSkipped || !strings.Contains(evs[len(evs)-1].Reason, "no watched asset materialized") {
			t.Fatalf("evaluations %+v", evs)
		}
		_ = other
	})
}

// TestOpenLineageOutputTriggersOnce: an OpenLineage COMPLETE naming a
// watched asset as output (as ingestion reports it) starts one run.
func TestOpenLineageOutputTriggersOnce(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		raw, mart := w.asset(t, "ol/raw"), w.asset(t, "mart")
		if _, err := w.auto.Create(w.ctx, automation.Input{Name: "on-ol", On: domain.OnUpstreamUpdated, Assets: []string{"ol/raw"}, Asset: "mart"}); err != nil {
			t.Fatal(err)
		}
		w.clock.Add(time.Minute)
		fresh := freshness.New(b.Store, w.clock)
		err := b.Store.InTx(w.ctx, func(ctx context.Context) error {
			if err := fresh.OutputsCompleted(ctx, []uuid.UUID{raw}, w.clock.Now()); err != nil {
				return err
			}
			return w.auto.AssetsMaterialized(ctx, []uuid.UUID{raw}, w.clock.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		w.evaluate(t, b)
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, mart)); n != 1 {
			t.Fatalf("an OpenLineage output started %d runs, want exactly 1", n)
		}
	})
}

func TestAutomationModeAllAndMinInterval(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		w.asset(t, "a")
		w.asset(t, "b")
		mart := w.asset(t, "mart")
		all, err := w.auto.Create(w.ctx, automation.Input{Name: "both", On: domain.OnUpstreamUpdated, Mode: domain.ModeAll,
			Assets: []string{"a", "b"}, Asset: "mart", MinInterval: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		aID, _ := w.runs.ResolveAsset(w.ctx, "a")
		bID, _ := w.runs.ResolveAsset(w.ctx, "b")
		w.materialize(t, aID.ID)
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, mart)); n != 0 {
			t.Fatalf("mode all fired on one of two: %d runs", n)
		}
		evs, _ := w.auto.Evaluations(w.ctx, "both", 1)
		if !strings.Contains(evs[0].Reason, "still waiting for b") {
			t.Fatalf("reason %q", evs[0].Reason)
		}
		w.materialize(t, bID.ID)
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, mart)); n != 1 {
			t.Fatalf("both materialized: %d runs, want 1", n)
		}
		// Both again within the hour: skipped for the interval, then fired
		// once it has passed.
		w.materialize(t, aID.ID)
		w.materialize(t, bID.ID)
		w.evaluate(t, b)
		evs, _ = w.auto.Evaluations(w.ctx, all.ID.String(), 1)
		if n := len(w.automationRuns(t, mart)); n != 1 || !strings.Contains(evs[0].Reason, "min_interval") {
			t.Fatalf("within min_interval: %d runs, last evaluation %q", n, evs[0].Reason)
		}
		w.clock.Add(time.Hour)
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, mart)); n != 2 {
			t.Fatalf("after min_interval: %d runs, want 2", n)
		}
	})
}

func TestAutomationFreshnessViolated(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		orders := w.asset(t, "orders")
		fresh := freshness.New(b.Store, w.clock)
		if _, err := fresh.SetPolicy(w.ctx, orders, &domain.FreshnessPolicy{MaxAge: "2h"}); err != nil {
			t.Fatal(err)
		}
		w.materialize(t, orders)
		if _, err := w.auto.Create(w.ctx, automation.Input{Name: "refresh", On: domain.OnFreshnessViolated, Assets: []string{"orders"}, Asset: "orders"}); err != nil {
			t.Fatal(err)
		}
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, orders)); n != 0 {
			t.Fatalf("fresh asset: %d runs", n)
		}
		w.clock.Add(3 * time.Hour) // stale now
		w.evaluate(t, b)
		w.clock.Add(time.Minute)
		w.evaluate(t, b)
		if n := len(w.automationRuns(t, orders)); n != 1 {
			t.Fatalf("stale asset: %d runs, want exactly 1 for the stale period", n)
		}
	})
}

func TestAutomationInputAndIsolation(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		o := newWorld(t, b) // another tenant
		w.asset(t, "raw")
		w.asset(t, "mart")
		o.asset(t, "theirs")
		if _, err := w.runs.CreateWorkflow(w.ctx, service.CreateWorkflowInput{Name: "flow", Assets: []string{"mart"}}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			in    automation.Input
			field string
		}{
			{automation.Input{Name: "x", On: "sometimes", Assets: []string{"raw"}, Asset: "mart"}, "on"},
			{automation.Input{Name: "x", On: domain.OnUpstreamUpdated, Mode: "most", Assets: []string{"raw"}, Asset: "mart"}, "mode"},
			{automation.Input{Name: "x", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}}, "workflow"},
			{automation.Input{Name: "x", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}, Asset: "mart", Workflow: "flow"}, "workflow"},
			{automation.Input{Name: "x", On: domain.OnUpstreamUpdated, Asset: "mart"}, "assets"},
			{automation.Input{Name: "x", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}, Asset: "mart", MinInterval: "soon"}, "min_interval"},
			{automation.Input{Name: "x", On: domain.OnUpstreamUpdated, Assets: []string{"theirs"}, Asset: "mart"}, "assets"},
			{automation.Input{Name: "x", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}, Workflow: "nope"}, "workflow"},
		} {
			_, err := w.auto.Create(w.ctx, tc.in)
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
				t.Errorf("create %+v: %v, want invalid %s", tc.in, err, tc.field)
			}
		}
		a, err := w.auto.Create(w.ctx, automation.Input{Name: "run-flow", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}, Workflow: "flow"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.auto.Create(w.ctx, automation.Input{Name: "run-flow", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}, Workflow: "flow"}); !errors.Is(err, domain.ErrConflict) {
			t.Errorf("duplicate name: %v", err)
		}
		for _, ref := range []string{a.ID.String(), "run-flow"} {
			if _, err := o.auto.Resolve(o.ctx, ref); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant resolves %s: %v", ref, err)
			}
			if _, err := o.auto.Update(o.ctx, ref, automation.Patch{Enabled: new(bool)}); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant pauses %s: %v", ref, err)
			}
			if err := o.auto.Delete(o.ctx, ref); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant deletes %s: %v", ref, err)
			}
			if _, err := o.auto.Evaluations(o.ctx, ref, 5); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant reads evaluations of %s: %v", ref, err)
			}
		}
		// The other tenant cannot watch A's asset or target A's workflow.
		if _, err := o.auto.Create(o.ctx, automation.Input{Name: "steal", On: domain.OnUpstreamUpdated, Assets: []string{"raw"}, Workflow: "flow"}); err == nil {
			t.Error("another tenant watched A's asset")
		}
		// Deleting the workflow deletes the automation that runs it.
		if _, err := w.runs.DeleteWorkflowVersions(w.ctx, "flow"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.auto.Resolve(w.ctx, "run-flow"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("automation of a deleted workflow: %v", err)
		}
	})
}

// TestResolve_NotFoundNamesTheAutomation checks on both backends that an
// unknown automation, by name or id, is a domain.NotFoundError naming it.
func TestResolve_NotFoundNamesTheAutomation(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		w := newWorld(t, b)
		for _, ref := range []string{"no-such-automation", "0190f5d2-7c1a-7e3b-9a4c-1f2e3d4c5b6a"} {
			_, err := w.auto.Resolve(w.ctx, ref)
			var nf *domain.NotFoundError
			if !errors.As(err, &nf) || nf.Resource != "automation" || nf.Ref != ref || errors.Is(err, domain.ErrNoRows) {
				t.Errorf("Resolve(%q): err = %v, want a NotFoundError of automation %q", ref, err, ref)
			}
		}
	})
}
