package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/schedule"
	"github.com/servo-data/servo/internal/testdb"
)

func init() {
	registerSection(section{Name: "schedules", Run: runScheduleSection})
}

// shiftedClock is the wall clock moved by a fixed offset, so that a minute
// boundary comes within seconds instead of within a minute.
type shiftedClock struct{ offset atomic.Int64 }

func (c *shiftedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// runScheduleSection measures tick latency: many schedules due in the same
// minute, fired by two tickers (two worker processes, each with a pool of
// its own) polling every second, from the due time to each run's creation.
// The baseline starts the same number of runs in one loop through the
// service at the same instant, with no schedule machinery: the cost of the
// runs alone.
func runScheduleSection(ctx context.Context, e *env) ([]row, error) {
	n, tenants := 1000, 10
	if e.o.Short {
		n, tenants = 50, 2
	}
	db, err := testdb.Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("schedules: create database: %w", err)
	}
	defer db.Drop()
	if err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("schedules: migrate: %w", err)
	}
	open := func() (*repository.Store, error) {
		return repository.Open(ctx, db.AppURL, repository.PoolConfig{MaxOpen: 5}, zap.NewNop())
	}
	st, err := open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	clock := &shiftedClock{}
	runs := service.New(st, nil, nil)
	svc := schedule.New(st, runs, clock)
	var ctxs []context.Context
	var direct []uuid.UUID
	for i := range tenants {
		id := fmt.Sprintf("bench-sched-%d", i)
		if _, err := runs.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: id}); err != nil {
			return nil, err
		}
		tctx := domain.WithTenant(ctx, id)
		if _, err := runs.CreateAsset(tctx, service.CreateAssetInput{Name: "orders"}); err != nil {
			return nil, err
		}
		if _, err := runs.CreateWorkflow(tctx, service.CreateWorkflowInput{Name: "nightly", Assets: []string{"orders"}}); err != nil {
			return nil, err
		}
		w, err := runs.CreateWorkflow(tctx, service.CreateWorkflowInput{Name: "direct", Assets: []string{"orders"}})
		if err != nil {
			return nil, err
		}
		ctxs = append(ctxs, tctx)
		direct = append(direct, w.ID)
	}
	// Every schedule's first tick is the next minute boundary of the
	// shifted clock, set 60 s ahead while they are created and 1 s ahead
	// once they all are.
	now := time.Now()
	due := now.Truncate(time.Minute).Add(2 * time.Minute)
	clock.offset.Store(int64(due.Add(-60 * time.Second).Sub(now)))
	for i := range n {
		_, err := svc.Create(ctxs[i%tenants], schedule.Input{Name: fmt.Sprintf("s%04d", i), Workflow: "nightly", Cron: "* * * * *", Overlap: domain.OverlapQueue})
		if err != nil {
			return nil, err
		}
	}
	now = time.Now()
	clock.offset.Store(int64(due.Add(-time.Second).Sub(now)))
	logf("schedules: %d schedules of %d tenants due at %s (shifted clock)", n, tenants, due.Format(time.TimeOnly))
	var tickers []*schedule.Ticker
	for range 2 {
		s, err := open()
		if err != nil {
			return nil, err
		}
		defer func() { _ = s.Close() }()
		tk := schedule.NewTicker(schedule.New(s, service.New(s, nil, nil), clock), schedule.TickerConfig{}, zap.NewNop())
		if err := tk.Start(ctx); err != nil {
			return nil, err
		}
		defer tk.Stop()
		tickers = append(tickers, tk)
	}
	// Wait for every run, then read when each was created.
	deadline := time.Now().Add(60 * time.Second)
	var created []time.Time
	for {
		created, err = scheduledRunTimes(ctx, db.OwnerURL, due)
		if err != nil {
			return nil, err
		}
		if len(created) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tk := range tickers {
		tk.Stop()
	}
	if len(created) != n {
		return nil, fmt.Errorf("schedules: %d of %d scheduled runs created", len(created), n)
	}
	offset := time.Duration(clock.offset.Load())
	var lat []time.Duration
	for _, c := range created {
		lat = append(lat, c.Add(offset).Sub(due))
	}
	servo := latencyResult(lat, created)

	// Baseline: the same number of runs, started directly in one loop.
	start := time.Now()
	var base []time.Duration
	var baseAt []time.Time
	for i := range n {
		_, _, err := runs.TriggerRun(ctxs[i%tenants], service.CreateRunInput{WorkflowID: &direct[i%tenants], IdempotencyKey: fmt.Sprintf("direct:%d", i)})
		if err != nil {
			return nil, err
		}
		t := time.Now()
		base = append(base, t.Sub(start))
		baseAt = append(baseAt, t)
	}
	baseline := latencyResult(base, baseAt)
	return []row{{
		Name:     fmt.Sprintf("schedule tick latency, %d due in one minute (due -> run created)", n),
		Clients:  2,
		Servo:    servo,
		Baseline: fmt.Sprintf("%d runs triggered in one loop", n),
		Base:     baseline,
		Latency:  true,
		Target:   "p99 <= 2 s",
	}}, nil
}

func latencyResult(lat []time.Duration, at []time.Time) result {
	slices.Sort(lat)
	r := result{N: len(lat), P50: lat[len(lat)/2], P99: lat[(len(lat)*99)/100]}
	first, last := slices.MinFunc(at, func(a, b time.Time) int { return a.Compare(b) }), slices.MaxFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	if d := last.Sub(first).Seconds(); d > 0 {
		r.RPS = float64(len(lat)) / d
	}
	return r
}

// scheduledRunTimes reads, as the owner, when every run of the tick at due
// was created.
func scheduledRunTimes(ctx context.Context, ownerURL string, due time.Time) ([]time.Time, error) {
	db, err := sql.Open("pgx", ownerURL)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	rows, err := db.QueryContext(ctx, "SELECT created_at FROM executions WHERE trigger = 'scheduled' AND idempotency_key LIKE $1",
		"%:"+due.UTC().Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []time.Time
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
