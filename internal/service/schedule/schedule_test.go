package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/schedule"
	"github.com/servo-data/servo/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// clock is a clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(s string) *clock {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &clock{t: t}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type bundle struct {
	b     *testdb.Backend
	runs  *service.Service
	svc   *schedule.Service
	clock *clock
}

func setup(t *testing.T, b *testdb.Backend, now string) *bundle {
	t.Helper()
	c := newClock(now)
	runs := service.New(b.Store, nil, nil)
	return &bundle{b: b, runs: runs, svc: schedule.New(b.Store, runs, c), clock: c}
}

// tenant creates a tenant with a workflow "nightly" over one asset.
func (x *bundle) tenant(t *testing.T) context.Context {
	t.Helper()
	id := testdb.TenantID("sch")
	if _, err := x.runs.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: id}); err != nil {
		t.Fatal(err)
	}
	ctx := domain.WithTenant(context.Background(), id)
	if _, err := x.runs.CreateAsset(ctx, service.CreateAssetInput{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.runs.CreateWorkflow(ctx, service.CreateWorkflowInput{Name: "nightly", Assets: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (x *bundle) create(t *testing.T, ctx context.Context, in schedule.Input) *domain.Schedule {
	t.Helper()
	if in.Workflow == "" {
		in.Workflow = "nightly"
	}
	sc, err := x.svc.Create(ctx, in)
	if err != nil {
		t.Fatalf("create schedule %q: %v", in.Name, err)
	}
	return sc
}

func (x *bundle) ticks(t *testing.T, ctx context.Context, ref string) []domain.ScheduleTick {
	t.Helper()
	ts, err := x.svc.Ticks(ctx, ref, 500)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func fieldOf(err error) string {
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	for k := range ve.Fields {
		return k
	}
	return ""
}

func TestScheduleCRUD(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		x := setup(t, b, "2026-03-29T12:00:00Z")
		a, other := x.tenant(t), x.tenant(t)
		sc := x.create(t, a, schedule.Input{Name: "nightly-2am", Cron: "0 2 * * *", Timezone: "Europe/Berlin", Partition: domain.PartitionPreviousDay})
		if sc.NextTickAt == nil || !sc.NextTickAt.Equal(time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("next tick = %v, want 2026-03-30T00:00:00Z (02:00 CEST)", sc.NextTickAt)
		}
		if !sc.Enabled || sc.Catchup != domain.CatchupNone || sc.Overlap != domain.OverlapSkip || sc.MaxCatchup != domain.DefaultMaxCatchup {
			t.Fatalf("defaults: %+v", sc)
		}
		for _, ref := range []string{sc.ID.String(), "nightly-2am"} {
			got, err := x.svc.Resolve(a, ref)
			if err != nil || got.ID != sc.ID {
				t.Fatalf("resolve %q: %v %v", ref, got, err)
			}
			// Another tenant can neither see, change nor delete it.
			if _, err := x.svc.Resolve(other, ref); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant resolves %q: %v, want not found", ref, err)
			}
			if _, err := x.svc.Update(other, ref, schedule.Patch{Enabled: new(bool)}); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant pauses %q: %v, want not found", ref, err)
			}
			if err := x.svc.Delete(other, ref); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant deletes %q: %v, want not found", ref, err)
			}
			if _, err := x.svc.Ticks(other, ref, 10); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("other tenant reads ticks of %q: %v, want not found", ref, err)
			}
		}
		if l, err := x.svc.List(other, domain.Page{}); err != nil || l.Total != 0 {
			t.Fatalf("other tenant lists %d schedules (%v), want 0", l.Total, err)
		}
		// Bad input: 4xx with the field, and nothing stored.
		bad := []struct {
			in    schedule.Input
			field string
			want  error
		}{
			{schedule.Input{Name: "x", Cron: "0 2 * *"}, "cron", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "99 2 * * *"}, "cron", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 0 30 2 *"}, "cron", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", Timezone: "Europe/Nowhere"}, "timezone", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", Catchup: "some"}, "catchup", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", MaxCatchup: 101}, "max_catchup", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", Overlap: "wait"}, "overlap", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", Partition: "tick_week"}, "partition", domain.ErrInvalid},
			{schedule.Input{Name: "", Cron: "0 2 * * *"}, "name", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", Workflow: "missing"}, "workflow", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", WorkflowVersion: ptr(7)}, "workflow", domain.ErrInvalid},
			{schedule.Input{Name: "x", Cron: "0 2 * * *", WorkflowVersion: ptr(1 << 31)}, "workflow_version", domain.ErrInvalid},
		}
		for _, tc := range bad {
			if tc.in.Workflow == "" {
				tc.in.Workflow = "nightly"
			}
			_, err := x.svc.Create(a, tc.in)
			if !errors.Is(err, tc.want) || fieldOf(err) != tc.field {
				t.Errorf("create %+v: %v, want %v on %s", tc.in, err, tc.want, tc.field)
			}
		}
		if _, err := x.svc.Create(a, schedule.Input{Name: "nightly-2am", Workflow: "nightly", Cron: "0 3 * * *"}); !errors.Is(err, domain.ErrConflict) {
			t.Errorf("duplicate name: %v, want conflict", err)
		}
		// Another tenant cannot schedule A's workflow: to it, it does not exist.
		if _, err := x.svc.Create(other, schedule.Input{Name: "steal", Workflow: "nightly", Cron: "0 3 * * *"}); err != nil {
			t.Errorf("other tenant schedules its own workflow of the same name: %v", err)
		}
		if l, _ := x.svc.List(a, domain.Page{}); l.Total != 1 {
			t.Fatalf("A has %d schedules after bad input, want 1", l.Total)
		}
		if _, err := x.svc.Update(a, "nightly-2am", schedule.Patch{Cron: ptr("nope")}); fieldOf(err) != "cron" {
			t.Errorf("patch with a bad expression: %v, want invalid cron", err)
		}

		// Pause, then resume three days later: ticks start again from now.
		off, on := false, true
		paused, err := x.svc.Update(a, "nightly-2am", schedule.Patch{Enabled: &off})
		if err != nil || paused.Enabled {
			t.Fatalf("pause: %v %+v", err, paused)
		}
		x.clock.Set("2026-04-02T12:00:00Z")
		resumed, err := x.svc.Update(a, sc.ID.String(), schedule.Patch{Enabled: &on})
		if err != nil || !resumed.Enabled || !resumed.NextTickAt.Equal(time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("resume: %v, next tick %v, want 2026-04-03T00:00:00Z", err, resumed.NextTickAt)
		}

		// A workflow whose versions all go takes its schedules with it.
		if _, err := x.runs.DeleteWorkflowVersions(a, "nightly"); err != nil {
			t.Fatal(err)
		}
		if _, err := x.svc.Resolve(a, "nightly-2am"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("schedule of a deleted workflow: %v, want not found", err)
		}
		if _, err := x.svc.Resolve(other, "steal"); err != nil {
			t.Errorf("the other tenant's schedule went with A's workflow: %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// runsByKey counts the scheduled runs of a tenant per idempotency key.
func runsByKey(t *testing.T, b *testdb.Backend, tenant string) map[string]int {
	t.Helper()
	q := "SELECT idempotency_key, count(*) FROM executions WHERE tenant_id = ? AND trigger = 'scheduled' GROUP BY idempotency_key"
	if b.Postgres() {
		q = strings.Replace(q, "?", "$1", 1)
	}
	rows, err := b.Raw.QueryContext(context.Background(), q, tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func tenantOf(ctx context.Context) string {
	s, _ := domain.ScopeFrom(ctx)
	return s.TenantID()
}

func TestTickerFiresOnce(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		x := setup(t, b, "2026-03-29T12:00:00Z")
		a := x.tenant(t)
		sc := x.create(t, a, schedule.Input{Name: "nightly-2am", Cron: "0 2 * * *", Timezone: "Europe/Berlin", Partition: domain.PartitionPreviousDay})
		tk := schedule.NewTicker(x.svc, schedule.TickerConfig{}, nil)
		ctx := context.Background()

		if n, err := tk.RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("before the tick: claimed %d (%v), want 0", n, err)
		}
		x.clock.Set("2026-03-30T00:00:05Z")
		for range 3 {
			if _, err := tk.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		key := "schedule:" + sc.ID.String() + ":2026-03-30T00:00:00Z"
		if got := runsByKey(t, b, tenantOf(a)); len(got) != 1 || got[key] != 1 {
			t.Fatalf("runs per key %v, want one run for %s", got, key)
		}
		run, err := x.runs.ListRuns(a, domain.RunFilter{}, domain.Page{})
		if err != nil || len(run.Items) != 1 {
			t.Fatalf("runs: %v %v", run, err)
		}
		r := run.Items[0]
		if r.Trigger != domain.TriggerScheduled || r.PartitionKey != "2026-03-29" || r.IdempotencyKey == nil || *r.IdempotencyKey != key {
			t.Fatalf("run %+v: want trigger scheduled, partition 2026-03-29, key %s", r, key)
		}
		got, _ := x.svc.Resolve(a, "nightly-2am")
		if !got.NextTickAt.Equal(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)) || got.LastRunID == nil || *got.LastRunID != r.ID ||
			!got.LastTickAt.Equal(time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("after the tick: next %v last %v run %v", got.NextTickAt, got.LastTickAt, got.LastRunID)
		}
		ticks := x.ticks(t, a, "nightly-2am")
		if len(ticks) != 1 || ticks[0].Status != domain.TickTriggered || ticks[0].RunID == nil || *ticks[0].RunID != r.ID {
			t.Fatalf("ticks %+v, want one triggered with the run", ticks)
		}
		// A paused schedule does not fire.
		off := false
		if _, err := x.svc.Update(a, "nightly-2am", schedule.Patch{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		x.clock.Set("2026-03-31T00:00:05Z")
		if n, _ := tk.RunOnce(ctx); n != 0 {
			t.Fatalf("a paused schedule was claimed")
		}
	})
}

func TestTickerCatchupOverlapAndFailures(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		x := setup(t, b, "2026-12-01T09:30:00Z")
		a := x.tenant(t)
		none := x.create(t, a, schedule.Input{Name: "none", Cron: "0 * * * *", Overlap: domain.OverlapQueue})
		all := x.create(t, a, schedule.Input{Name: "all", Cron: "0 * * * *", Catchup: domain.CatchupAll, MaxCatchup: 2, Overlap: domain.OverlapQueue})
		skip := x.create(t, a, schedule.Input{Name: "skip", Cron: "0 * * * *", Catchup: domain.CatchupAll, MaxCatchup: 5})
		pinned := x.create(t, a, schedule.Input{Name: "pinned", Cron: "0 * * * *", WorkflowVersion: ptr(1)})
		tk := schedule.NewTicker(x.svc, schedule.TickerConfig{Batch: 2}, nil)
		ctx := context.Background()

		// Version 2 comes, version 1 goes: the pinned schedule fails its tick.
		if _, err := x.runs.CreateWorkflow(a, service.CreateWorkflowInput{Name: "nightly", Assets: []string{"orders"}}); err != nil {
			t.Fatal(err)
		}
		v1, err := x.runs.ResolveWorkflow(a, "nightly", 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.runs.DeleteWorkflow(a, v1.ID); err != nil {
			t.Fatal(err)
		}

		// Down for three and a half hours: ticks at 10, 11, 12 and 13 are due.
		x.clock.Set("2026-12-01T13:00:30Z")
		if _, err := tk.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		keys := runsByKey(t, b, tenantOf(a))
		want := map[string]int{
			schedule.IdempotencyKey(none.ID, time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)): 1,
			schedule.IdempotencyKey(all.ID, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)):  1,
			schedule.IdempotencyKey(all.ID, time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)):  1,
			// overlap skip: the first missed tick fires, the rest find it active.
			schedule.IdempotencyKey(skip.ID, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)): 1,
		}
		if fmt.Sprint(keys) != fmt.Sprint(want) {
			t.Fatalf("runs per key:\n%v\nwant\n%v", keys, want)
		}
		status := func(ref string) string {
			var parts []string
			ts := x.ticks(t, a, ref)
			for i := len(ts) - 1; i >= 0; i-- {
				parts = append(parts, ts[i].TickAt.Format("15")+":"+string(ts[i].Status))
			}
			return strings.Join(parts, " ")
		}
		for ref, w := range map[string]string{
			"none":   "10:skipped 11:skipped 12:skipped 13:triggered",
			"all":    "10:skipped 11:skipped 12:triggered 13:triggered",
			"skip":   "10:triggered 11:skipped 12:skipped 13:skipped",
			"pinned": "10:skipped 11:skipped 12:skipped 13:failed",
		} {
			if got := status(ref); got != w {
				t.Errorf("ticks of %s: %s, want %s", ref, got, w)
			}
		}
		if ts := x.ticks(t, a, "pinned"); !strings.Contains(ts[0].Reason, "version 1 not found") {
			t.Errorf("failed tick reason %q", ts[0].Reason)
		}
		if ts := x.ticks(t, a, "skip"); !strings.Contains(ts[0].Reason, "still") {
			t.Errorf("overlap skip reason %q", ts[0].Reason)
		}
		for _, sc := range []*domain.Schedule{none, all, skip, pinned} {
			got, _ := x.svc.Resolve(a, sc.Name)
			if !got.NextTickAt.Equal(time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)) {
				t.Errorf("%s: next tick %v, want 14:00", sc.Name, got.NextTickAt)
			}
		}

		// Once the running run finishes, the skip schedule fires again.
		sk, _ := x.svc.Resolve(a, "skip")
		for _, step := range []domain.State{domain.StateQueued, domain.StateRunning, domain.StateSucceeded} {
			cur, err := x.runs.GetRun(a, *sk.LastRunID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x.runs.TransitionRun(a, domain.Transition{ID: cur.ID, From: cur.State, To: step}); err != nil {
				t.Fatal(err)
			}
		}
		x.clock.Set("2026-12-01T14:00:01Z")
		if _, err := tk.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := status("skip"); !strings.HasSuffix(got, "14:triggered") {
			t.Errorf("skip after its run finished: %s", got)
		}
	})
}

// TestTickerExactlyOnceAcrossWorkers runs tickers side by side while the
// clock moves, stops one in the middle (a process going away mid-claim) and
// starts another, and on PostgreSQL cuts every connection of the tickers
// once (a database outage): every tick of every schedule fires exactly
// once. On PostgreSQL each ticker has a pool of its own, as separate
// processes do.
func TestTickerExactlyOnceAcrossWorkers(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		x := setup(t, b, "2026-12-01T10:00:30Z")
		a := x.tenant(t)
		const schedules, minutes = 12, 8
		var ids []*domain.Schedule
		for i := range schedules {
			ids = append(ids, x.create(t, a, schedule.Input{Name: fmt.Sprintf("s%d", i), Cron: "* * * * *", Catchup: domain.CatchupAll, MaxCatchup: 100, Overlap: domain.OverlapQueue}))
		}
		// Claims never collide: a claimed schedule is skipped by the others,
		// so no tick is ever attempted twice and rolled back on a duplicate.
		core, logs := observer.New(zap.WarnLevel)
		// A "process": a store of its own (PostgreSQL) and a ticker over it.
		process := func() *schedule.Ticker {
			st := b.Store
			if b.Postgres() {
				st = testdb.Open(t, b.Database)
			}
			runs := service.New(st, nil, nil)
			return schedule.NewTicker(schedule.New(st, runs, x.clock), schedule.TickerConfig{Batch: 5}, zap.New(core))
		}
		loop := func(ctx context.Context, tk *schedule.Ticker, wg *sync.WaitGroup) {
			defer wg.Done()
			for ctx.Err() == nil {
				// Errors are expected while the connections are cut; what
				// counts is the outcome below.
				_, _ = tk.RunOnce(ctx)
				time.Sleep(5 * time.Millisecond)
			}
		}
		var wg sync.WaitGroup
		ctx1, stop1 := context.WithCancel(context.Background())
		defer stop1()
		ctx2, stop2 := context.WithCancel(context.Background())
		wg.Add(2)
		go loop(ctx1, process(), &wg)
		go loop(ctx2, process(), &wg)
		var ctx3 context.Context
		var stop3 context.CancelFunc = func() {}
		for m := 1; m <= minutes; m++ {
			x.clock.Add(time.Minute)
			time.Sleep(30 * time.Millisecond)
			if m == minutes/2+1 && b.Postgres() {
				// An outage: every connection of the application role to
				// this database is cut, in the middle of whatever it runs.
				q := "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND pid <> pg_backend_pid()"
				var n int
				if err := b.Raw.QueryRowContext(context.Background(), q, b.Database.Name, testdb.AppRole).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					t.Fatal("the outage cut no connection")
				}
			}
			if m == minutes/2 {
				stop1() // one process goes away, whatever it was doing
				ctx3, stop3 = context.WithCancel(context.Background())
				wg.Add(1)
				go loop(ctx3, process(), &wg) // and another starts
			}
		}
		stop2()
		stop3()
		wg.Wait()
		// The test's own pool lost its connections in the outage too: let
		// it find that out before reading.
		for range 20 {
			if _, err := x.svc.List(a, domain.Page{}); err == nil {
				break
			}
		}
		// Whatever was left is fired by a last pass.
		if _, err := process().RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		keys := runsByKey(t, b, tenantOf(a))
		for _, sc := range ids {
			for m := 1; m <= minutes; m++ {
				key := schedule.IdempotencyKey(sc.ID, time.Date(2026, 12, 1, 10, m, 0, 0, time.UTC))
				if keys[key] != 1 {
					t.Errorf("%s: %d runs, want exactly 1", key, keys[key])
				}
				delete(keys, key)
			}
			ticks := x.ticks(t, a, sc.Name)
			if len(ticks) != minutes {
				t.Errorf("%s: %d ticks logged, want %d", sc.Name, len(ticks), minutes)
			}
			for _, tk := range ticks {
				if tk.Status != domain.TickTriggered {
					t.Errorf("%s: tick %s %s (%s)", sc.Name, tk.TickAt, tk.Status, tk.Reason)
				}
			}
		}
		if len(keys) != 0 {
			t.Errorf("unexpected runs: %v", keys)
		}
		for _, e := range logs.All() {
			if msg := fmt.Sprint(e.ContextMap()["error"]); !strings.Contains(msg, "already exists") && !strings.Contains(msg, "conflict") {
				continue // a stopped process or a cut connection, not a collision
			}
			t.Errorf("ticker warned: %s %v", e.Message, e.ContextMap())
		}
	})
}

// TestTickLogIsBounded keeps the newest ticks of a schedule and drops the
// oldest.
func TestTickLogIsBounded(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		x := setup(t, b, "2026-12-01T10:00:00Z")
		a := x.tenant(t)
		sc := x.create(t, a, schedule.Input{Name: "minutely", Cron: "* * * * *"})
		start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for i := range schedule.KeepTicks + 5 {
			if err := b.Store.ScheduleTickCreate(a, &domain.ScheduleTick{ScheduleID: sc.ID, TickAt: start.Add(time.Duration(i) * time.Minute), Status: domain.TickSkipped}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Store.ScheduleTickTrim(a, sc.ID, schedule.KeepTicks); err != nil {
			t.Fatal(err)
		}
		ts := x.ticks(t, a, "minutely")
		if len(ts) != schedule.KeepTicks || !ts[len(ts)-1].TickAt.Equal(start.Add(5*time.Minute)) {
			t.Fatalf("%d ticks kept, oldest %v; want %d from 00:05", len(ts), ts[len(ts)-1].TickAt, schedule.KeepTicks)
		}
	})
}

// TestResolve_NotFoundNamesTheSchedule checks on both backends that an
// unknown schedule, by name or id, is a domain.NotFoundError naming it.
func TestResolve_NotFoundNamesTheSchedule(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		x := setup(t, b, "2026-03-29T12:00:00Z")
		id := testdb.TenantID("sched-nf")
		if _, err := x.runs.CreateTenant(domain.WithSystem(context.Background()), domain.Tenant{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
		ctx := domain.WithTenant(context.Background(), id)
		for _, ref := range []string{"no-such-schedule", "0190f5d2-7c1a-7e3b-9a4c-1f2e3d4c5b6a"} {
			_, err := x.svc.Resolve(ctx, ref)
			var nf *domain.NotFoundError
			if !errors.As(err, &nf) || nf.Resource != "schedule" || nf.Ref != ref || errors.Is(err, domain.ErrNoRows) {
				t.Errorf("Resolve(%q): err = %v, want a NotFoundError of schedule %q", ref, err, ref)
			}
		}
	})
}
