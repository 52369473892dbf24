package backfill_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// rig is a store with the service, a started runtime and the backfill use
// cases, for one tenant.
type rig struct {
	t     *testing.T
	store *repository.Store
	svc   *service.Service
	bf    *backfill.Backfills
	ctx   context.Context
	step  string
}

func newRig(t *testing.T, store *repository.Store) *rig {
	t.Helper()
	step, err := filepath.Abs(filepath.Join("testdata", "part.sh"))
	if err != nil {
		t.Fatal(err)
	}
	db := runtime.DB{Pool: store.SQLDB(), Postgres: store.Dialect() == repository.Postgres, TxFrom: repository.SQLTx}
	cfg := runtime.Config{
		Policy:              runtime.Policy{Commands: []string{step}},
		MaxRunningPerTenant: 20, Workers: 10, Lease: time.Minute,
		WaitPoll: 50 * time.Millisecond, CancelPoll: 50 * time.Millisecond, KillGrace: 500 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond, BackfillPoll: 200 * time.Millisecond,
		Queue: "bf_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16],
	}
	d, err := runtime.NewDispatcher(db, cfg.Queue, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, d, cfg.ComputePolicy())
	rt, err := runtime.New(svc, svc.Engine(), d, cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	bf := backfill.New(store, svc, d)
	rt.UseBackfills(bf)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	})
	tenant := testdb.TenantID("bf")
	if _, err := svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: tenant}); err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, store: store, svc: svc, bf: bf, ctx: domain.WithTenant(context.Background(), tenant), step: step}
}

// daily creates a daily-partitioned asset starting 2026-01-01; a nil env
// makes it observed.
func (r *rig) daily(name string, env map[string]string) *domain.Asset {
	r.t.Helper()
	in := service.CreateAssetInput{Name: name, Partitions: &domain.PartitionsDef{Type: domain.PartitionDaily, StartDate: "2026-01-01"}}
	if env != nil {
		in.Compute = &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{r.step}, Env: env}
	}
	a, err := r.svc.CreateAsset(r.ctx, in)
	if err != nil {
		r.t.Fatalf("create asset %s: %v", name, err)
	}
	return a
}

func (r *rig) create(in backfill.CreateInput) *domain.Backfill {
	r.t.Helper()
	b, created, err := r.bf.Create(r.ctx, in)
	if err != nil || !created {
		r.t.Fatalf("create backfill: %v (created %v)", err, created)
	}
	return b
}

// waitFor polls the backfill until cond holds, sampling on the way.
func (r *rig) waitFor(id uuid.UUID, within time.Duration, sample func(*domain.Backfill), cond func(*domain.Backfill) bool) *domain.Backfill {
	r.t.Helper()
	var b *domain.Backfill
	met := testutil.Eventually(within, func() bool {
		var err error
		if b, err = r.bf.Get(r.ctx, id); err != nil {
			r.t.Fatal(err)
		}
		if sample != nil {
			sample(b)
		}
		return cond(b)
	})
	if !met {
		r.t.Fatalf("backfill %s: condition not met within %s: %+v", id, within, b)
	}
	return b
}

func ended(b *domain.Backfill) bool { return b.State.IsTerminal() }

// runsOf returns the asset's runs, oldest first.
func (r *rig) runsOf(asset uuid.UUID) []domain.Run {
	r.t.Helper()
	list, err := r.store.RunList(r.ctx, domain.RunFilter{AssetID: &asset}, domain.Page{Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	runs := list.Items
	sort.Slice(runs, func(i, j int) bool { return runs[i].CreatedAt.Before(runs[j].CreatedAt) })
	return runs
}

// maxOverlap is the most runs whose [started_at, completed_at] intervals
// overlap at one moment.
func maxOverlap(runs []domain.Run) int {
	type ev struct {
		at    time.Time
		delta int
	}
	var evs []ev
	for _, r := range runs {
		if r.StartedAt != nil && r.CompletedAt != nil {
			evs = append(evs, ev{*r.StartedAt, 1}, ev{*r.CompletedAt, -1})
		}
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].at.Equal(evs[j].at) {
			return evs[i].delta < evs[j].delta // an end before a start at the same instant
		}
		return evs[i].at.Before(evs[j].at)
	})
	cur, most := 0, 0
	for _, e := range evs {
		cur += e.delta
		most = max(most, cur)
	}
	return most
}

func TestBackfill_ConcurrencyCapAndKeyOrder(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		a := r.daily("daily", map[string]string{"HOLD": "0.15"})
		b := r.create(backfill.CreateInput{Asset: a.Name, HasRange: true, RangeStart: "2026-01-01", RangeEnd: "2026-01-30", MaxConcurrency: 3})
		if b.Total != 30 {
			t.Fatalf("total %d, want 30", b.Total)
		}
		most := 0
		final := r.waitFor(b.ID, 90*time.Second, func(b *domain.Backfill) { most = max(most, b.Counts.Running) }, ended)
		if final.State != domain.BackfillSucceeded || final.Counts.Succeeded != 30 {
			t.Fatalf("backfill ended %s with %+v, want succeeded with 30", final.State, final.Counts)
		}
		if most > 3 {
			t.Errorf("sampled %d running partitions, max_concurrency is 3", most)
		}
		runs := r.runsOf(a.ID)
		if len(runs) != 30 {
			t.Fatalf("%d runs, want 30 (one per partition)", len(runs))
		}
		if n := maxOverlap(runs); n > 3 || n < 2 {
			t.Errorf("at most %d runs overlapped by start/end times, want 2 or 3", n)
		}
		keys := make([]string, len(runs))
		for i, run := range runs {
			keys[i] = run.PartitionKey
			if run.Trigger != domain.TriggerBackfill || run.IdempotencyKey == nil || *run.IdempotencyKey != "backfill:"+b.ID.String()+":"+run.PartitionKey {
				t.Errorf("run %s: trigger %s, idempotency key %v", run.ID, run.Trigger, run.IdempotencyKey)
			}
		}
		if !slices.IsSorted(keys) {
			t.Errorf("runs were created out of key order: %v", keys)
		}
	})
}

// The step of a backfilled partition sees its partition in
// SERVO_PARTITION_CONTEXT, with the upstream partitions it reads.
func TestBackfill_PartitionContext(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		up := r.daily("ctx.up", nil)
		weekly, err := r.svc.CreateAsset(r.ctx, service.CreateAssetInput{Name: "ctx.weekly",
			Partitions: &domain.PartitionsDef{Type: domain.PartitionWeekly, StartDate: "2026-01-01", Timezone: "Europe/Paris"},
			Compute:    &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{r.step}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.CreateDependency(r.ctx, up.ID, weekly.ID, domain.DependencyData); err != nil {
			t.Fatal(err)
		}
		b := r.create(backfill.CreateInput{Asset: weekly.Name, PartitionKeys: []string{"2026-01-05"}, MaxConcurrency: 1})
		if got := r.waitFor(b.ID, 30*time.Second, nil, ended); got.State != domain.BackfillSucceeded {
			t.Fatalf("backfill %s", got.State)
		}
		runs := r.runsOf(weekly.ID)
		if len(runs) != 1 {
			t.Fatalf("%d runs", len(runs))
		}
		log, err := r.svc.RunLog(r.ctx, runs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		line, ok := strings.CutPrefix(strings.TrimSpace(log.Content), "context=")
		if !ok {
			t.Fatalf("no context in the step's output: %q", log.Content)
		}
		var pc struct {
			PartitionKey       string              `json:"partition_key"`
			PartitionType      string              `json:"partition_type"`
			Timezone           string              `json:"timezone"`
			Format             string              `json:"format"`
			UpstreamPartitions map[string][]string `json:"upstream_partitions"`
		}
		if err := json.Unmarshal([]byte(line), &pc); err != nil {
			t.Fatalf("context %q: %v", line, err)
		}
		want := []string{"2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09", "2026-01-10", "2026-01-11"}
		if pc.PartitionKey != "2026-01-05" || pc.PartitionType != "time_weekly" || pc.Timezone != "Europe/Paris" || pc.Format != "%Y-%m-%d" ||
			!slices.Equal(pc.UpstreamPartitions["ctx.up"], want) {
			t.Errorf("partition context %+v, want the week's seven upstream days", pc)
		}
	})
}

func TestBackfill_PauseResumeCancel(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		a := r.daily("slow", map[string]string{"HOLD": "0.3"})
		b := r.create(backfill.CreateInput{Asset: a.Name, HasRange: true, RangeStart: "2026-01-01", RangeEnd: "2026-01-10", MaxConcurrency: 1})
		r.waitFor(b.ID, 30*time.Second, nil, func(b *domain.Backfill) bool { return b.Counts.Succeeded >= 2 })
		p, err := r.bf.Do(r.ctx, b.ID, backfill.ActionPause)
		if err != nil || p.State != domain.BackfillPaused {
			t.Fatalf("pause: %v, %+v", err, p)
		}
		// The running partition finishes; nothing new starts.
		held := r.waitFor(b.ID, 10*time.Second, nil, func(b *domain.Backfill) bool { return b.Counts.Running == 0 })
		time.Sleep(time.Second)
		still := r.waitFor(b.ID, time.Second, nil, func(*domain.Backfill) bool { return true })
		if still.State != domain.BackfillPaused || still.Counts.Succeeded != held.Counts.Succeeded || still.Counts.Running != 0 || len(r.runsOf(a.ID)) != held.Counts.Succeeded+held.Counts.Failed {
			t.Fatalf("paused backfill moved on: %+v then %+v", held.Counts, still.Counts)
		}
		if _, err := r.bf.Do(r.ctx, b.ID, backfill.ActionPause); !errors.Is(err, domain.ErrConflict) {
			t.Errorf("pausing a paused backfill: %v, want a conflict", err)
		}
		if _, err := r.bf.Do(r.ctx, b.ID, backfill.ActionResume); err != nil {
			t.Fatalf("resume: %v", err)
		}
		r.waitFor(b.ID, 30*time.Second, nil, func(b *domain.Backfill) bool { return b.Counts.Succeeded >= still.Counts.Succeeded+2 })
		c, err := r.bf.Do(r.ctx, b.ID, backfill.ActionCancel)
		if err != nil || c.State != domain.BackfillCancelled {
			t.Fatalf("cancel: %v, %+v", err, c)
		}
		if c.Counts.Pending+c.Counts.Running+c.Counts.WaitingUpstream != 0 || c.Counts.Cancelled == 0 || c.Counts.Succeeded+c.Counts.Cancelled+c.Counts.Failed != 10 {
			t.Errorf("cancelled backfill counts %+v", c.Counts)
		}
		time.Sleep(500 * time.Millisecond)
		for _, run := range r.runsOf(a.ID) {
			if !run.State.IsTerminal() {
				t.Errorf("run %s of a cancelled backfill is still %s", run.ID, run.State)
			}
		}
		if _, err := r.bf.Do(r.ctx, b.ID, backfill.ActionResume); !errors.Is(err, domain.ErrConflict) {
			t.Errorf("resuming a cancelled backfill: %v, want a conflict", err)
		}
	})
}

func TestBackfill_FailedThenRetryFailed(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		a := r.daily("flaky", map[string]string{"FAIL_KEYS": "2026-01-02"})
		b := r.create(backfill.CreateInput{Asset: a.Name, PartitionKeys: []string{"2026-01-03", "2026-01-01", "2026-01-02"}, MaxConcurrency: 2})
		final := r.waitFor(b.ID, 30*time.Second, nil, ended)
		if final.State != domain.BackfillFailed || final.Counts.Failed != 1 || final.Counts.Succeeded != 2 {
			t.Fatalf("backfill ended %s %+v, want failed with one failed partition", final.State, final.Counts)
		}
		parts, err := r.bf.Partitions(r.ctx, b.ID, -1, 10)
		if err != nil || len(parts) != 3 || parts[0].PartitionKey != "2026-01-01" || parts[2].PartitionKey != "2026-01-03" {
			t.Fatalf("partitions %+v, %v; want key order", parts, err)
		}
		again, err := r.bf.Do(r.ctx, b.ID, backfill.ActionRetryFailed)
		if err != nil || again.State.IsTerminal() {
			t.Fatalf("retry-failed: %v, %+v", err, again)
		}
		final = r.waitFor(b.ID, 30*time.Second, nil, ended)
		if final.State != domain.BackfillFailed || len(r.runsOf(a.ID)) != 4 {
			t.Errorf("after retrying the failing partition: %s, %d runs; want failed again with 4 runs", final.State, len(r.runsOf(a.ID)))
		}
	})
}

func TestBackfill_WaitForUpstreamOrdersAChain(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		up := r.daily("up", map[string]string{"HOLD": "0.1"})
		down := r.daily("down", map[string]string{})
		if _, err := r.svc.CreateDependency(r.ctx, up.ID, down.ID, domain.DependencyData); err != nil {
			t.Fatal(err)
		}
		keys := []string{"2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04"}
		bd := r.create(backfill.CreateInput{Asset: down.Name, PartitionKeys: keys, MaxConcurrency: 4, WaitForUpstream: true})
		waiting := r.waitFor(bd.ID, 10*time.Second, nil, func(b *domain.Backfill) bool { return b.Counts.WaitingUpstream == 4 })
		if waiting.Counts.Running != 0 || len(r.runsOf(down.ID)) != 0 {
			t.Fatalf("downstream launched before its upstream: %+v", waiting.Counts)
		}
		bu := r.create(backfill.CreateInput{Asset: up.Name, PartitionKeys: keys, MaxConcurrency: 1})
		if got := r.waitFor(bu.ID, 30*time.Second, nil, ended); got.State != domain.BackfillSucceeded {
			t.Fatalf("upstream backfill %s", got.State)
		}
		if got := r.waitFor(bd.ID, 60*time.Second, nil, ended); got.State != domain.BackfillSucceeded {
			t.Fatalf("downstream backfill %s %+v", got.State, got.Counts)
		}
		upDone := map[string]time.Time{}
		for _, run := range r.runsOf(up.ID) {
			upDone[run.PartitionKey] = *run.CompletedAt
		}
		for _, run := range r.runsOf(down.ID) {
			if !run.CreatedAt.After(upDone[run.PartitionKey]) {
				t.Errorf("down %s was launched at %s, before up %s completed at %s", run.PartitionKey, run.CreatedAt, run.PartitionKey, upDone[run.PartitionKey])
			}
		}
	})
}

// wait_for_upstream on a workflow waits for the upstream partitions outside
// the workflow, never for the workflow's own assets, which each partition's
// workflow run builds in order.
func TestBackfill_WorkflowWaitsForOutsideUpstream(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		src := r.daily("wfw.src", map[string]string{"HOLD": "0.1"})
		a, b := r.daily("wfw.a", map[string]string{}), r.daily("wfw.b", nil)
		for _, e := range [][2]uuid.UUID{{src.ID, a.ID}, {a.ID, b.ID}} {
			if _, err := r.svc.CreateDependency(r.ctx, e[0], e[1], domain.DependencyData); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.svc.CreateWorkflow(r.ctx, service.CreateWorkflowInput{Name: "wfw", Assets: []string{a.Name, b.Name}}); err != nil {
			t.Fatal(err)
		}
		keys := []string{"2026-04-01", "2026-04-02", "2026-04-03"}
		bw := r.create(backfill.CreateInput{Workflow: "wfw", PartitionKeys: keys, MaxConcurrency: 3, WaitForUpstream: true})
		waiting := r.waitFor(bw.ID, 10*time.Second, nil, func(b *domain.Backfill) bool { return b.Counts.WaitingUpstream == 3 })
		if waiting.Counts.Running != 0 || len(r.runsOf(a.ID)) != 0 {
			t.Fatalf("the workflow launched before its outside upstream: %+v", waiting.Counts)
		}
		bs := r.create(backfill.CreateInput{Asset: src.Name, PartitionKeys: keys, MaxConcurrency: 1})
		if got := r.waitFor(bs.ID, 30*time.Second, nil, ended); got.State != domain.BackfillSucceeded {
			t.Fatalf("upstream backfill %s", got.State)
		}
		if got := r.waitFor(bw.ID, 60*time.Second, nil, ended); got.State != domain.BackfillSucceeded || got.Counts.Succeeded != 3 {
			t.Fatalf("workflow backfill %s %+v", got.State, got.Counts)
		}
		srcDone := map[string]time.Time{}
		for _, run := range r.runsOf(src.ID) {
			srcDone[run.PartitionKey] = *run.CompletedAt
		}
		for _, run := range r.runsOf(a.ID) {
			if !run.CreatedAt.After(srcDone[run.PartitionKey]) {
				t.Errorf("wfw.a %s started at %s, before wfw.src %s completed at %s", run.PartitionKey, run.CreatedAt, run.PartitionKey, srcDone[run.PartitionKey])
			}
		}
	})
}

// skip_materialized leaves out partitions whose latest run succeeded.
func TestBackfill_SkipMaterialized(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		a := r.daily("skip", nil)
		first := r.create(backfill.CreateInput{Asset: a.Name, PartitionKeys: []string{"2026-05-02"}})
		r.waitFor(first.ID, 30*time.Second, nil, ended)
		b := r.create(backfill.CreateInput{Asset: a.Name, HasRange: true, RangeStart: "2026-05-01", RangeEnd: "2026-05-03", SkipMaterialized: true})
		got := r.waitFor(b.ID, 30*time.Second, nil, ended)
		if got.State != domain.BackfillSucceeded || got.Counts.Skipped != 1 || got.Counts.Succeeded != 2 {
			t.Fatalf("backfill ended %s %+v, want succeeded with one skipped", got.State, got.Counts)
		}
		if n := len(r.runsOf(a.ID)); n != 3 {
			t.Errorf("%d runs, want 3 (the skipped partition ran once, before)", n)
		}
	})
}

// A workflow backfill runs one workflow run per key, whose steps carry
// the key.
func TestBackfill_Workflow(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		a, b := r.daily("wf.a", map[string]string{}), r.daily("wf.b", nil)
		if _, err := r.svc.CreateDependency(r.ctx, a.ID, b.ID, domain.DependencyData); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.CreateWorkflow(r.ctx, service.CreateWorkflowInput{Name: "wf", Assets: []string{a.Name, b.Name}}); err != nil {
			t.Fatal(err)
		}
		bf := r.create(backfill.CreateInput{Workflow: "wf", HasRange: true, RangeStart: "2026-01-01", RangeEnd: "2026-01-03", MaxConcurrency: 2})
		if got := r.waitFor(bf.ID, 60*time.Second, nil, ended); got.State != domain.BackfillSucceeded || got.Counts.Succeeded != 3 {
			t.Fatalf("workflow backfill ended %s %+v", got.State, got.Counts)
		}
		keys := map[string]int{}
		for _, run := range r.runsOf(b.ID) {
			if run.State == domain.StateSucceeded {
				keys[run.PartitionKey]++
			}
		}
		if len(keys) != 3 || keys["2026-01-02"] != 1 {
			t.Errorf("steps of wf.b succeeded per key: %v, want one for each of 3 keys", keys)
		}
	})
}

func TestBackfill_CreateRefusals(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, be *testdb.Backend) {
		r := newRig(t, be.Store)
		a := r.daily("refusals", nil)
		// Hold the keys with a paused backfill, so it stays active.
		first := r.create(backfill.CreateInput{Asset: a.Name, PartitionKeys: []string{"2026-03-01", "2026-03-02"}, MaxConcurrency: 1, IdempotencyKey: "once"})
		if _, err := r.bf.Do(r.ctx, first.ID, backfill.ActionPause); err != nil && !errors.Is(err, domain.ErrConflict) {
			t.Fatal(err)
		}
		again, created, err := r.bf.Create(r.ctx, backfill.CreateInput{Asset: a.Name, PartitionKeys: []string{"2026-03-01"}, IdempotencyKey: "once"})
		if err != nil || created || again.ID != first.ID {
			t.Errorf("same Idempotency-Key: %v created=%v id=%v, want the first backfill", err, created, again)
		}
		tooMany := make([]string, domain.MaxBackfillPartitions+1)
		for i := range tooMany {
			tooMany[i] = "k" + strings.Repeat("x", i%7) + time.Duration(i).String()
		}
		for name, in := range map[string]backfill.CreateInput{
			"no target":           {PartitionKeys: []string{"2026-03-01"}},
			"both targets":        {Asset: a.Name, Workflow: "w", PartitionKeys: []string{"2026-03-01"}},
			"keys and range":      {Asset: a.Name, PartitionKeys: []string{"2026-03-01"}, HasRange: true, RangeStart: "2026-03-01", RangeEnd: "2026-03-02"},
			"bad key":             {Asset: a.Name, PartitionKeys: []string{"yesterday"}},
			"future key":          {Asset: a.Name, PartitionKeys: []string{"2999-01-01"}},
			"reversed range":      {Asset: a.Name, HasRange: true, RangeStart: "2026-03-02", RangeEnd: "2026-03-01"},
			"concurrency 0 > 100": {Asset: a.Name, PartitionKeys: []string{"2026-04-01"}, MaxConcurrency: 101},
			"too many keys":       {Asset: a.Name, PartitionKeys: tooMany},
			"range too long":      {Asset: a.Name, HasRange: true, RangeStart: "2026-01-01", RangeEnd: "2026-01-01"},
		} {
			if name == "range too long" {
				continue // a 10,001-key daily range needs 27 years of history; the hourly case below covers it
			}
			if _, _, err := r.bf.Create(r.ctx, in); !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		hourly, err := r.svc.CreateAsset(r.ctx, service.CreateAssetInput{Name: "hourly", Partitions: &domain.PartitionsDef{Type: domain.PartitionHourly, StartDate: "2024-01-01"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.bf.Create(r.ctx, backfill.CreateInput{Asset: hourly.Name, HasRange: true, RangeStart: "2024-01-01T00", RangeEnd: "2025-06-01T00"}); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("a range of more than 10,000 hours: %v, want invalid", err)
		}
		_, _, err = r.bf.Create(r.ctx, backfill.CreateInput{Asset: a.Name, PartitionKeys: []string{"2026-03-05", "2026-03-02"}})
		var overlap *backfill.OverlapError
		if !errors.As(err, &overlap) || overlap.Other != first.ID || !errors.Is(err, domain.ErrConflict) {
			t.Errorf("overlapping backfill: %v, want a conflict naming %s", err, first.ID)
		}
		if _, _, err := r.bf.Create(r.ctx, backfill.CreateInput{Asset: a.Name, PartitionKeys: []string{"2026-03-05"}}); err != nil {
			t.Errorf("a backfill of other keys: %v", err)
		}
		// Another tenant sees none of it.
		other := testdb.TenantID("bf-other")
		if _, err := r.svc.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: other}); err != nil {
			t.Fatal(err)
		}
		octx := domain.WithTenant(context.Background(), other)
		if _, err := r.bf.Get(octx, first.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("other tenant reads the backfill: %v", err)
		}
		if _, err := r.bf.Do(octx, first.ID, backfill.ActionCancel); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("other tenant cancels the backfill: %v", err)
		}
		if _, err := r.bf.Partitions(octx, first.ID, -1, 10); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("other tenant lists the partitions: %v", err)
		}
		if list, err := r.bf.List(octx, "", domain.Page{}); err != nil || len(list.Items) != 0 {
			t.Errorf("other tenant lists %v, %v", list.Items, err)
		}
		if _, _, err := r.bf.Create(octx, backfill.CreateInput{Asset: a.ID.String(), PartitionKeys: []string{"2026-03-09"}}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("other tenant backfills the asset: %v", err)
		}
	})
}
