package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

func init() {
	registerSection(section{Name: "throughput", Run: measureThroughput})
}

// Sizes of the throughput rows: runs triggered at once, and the runs in
// the table of the small and the big tenant of the scale rows.
const (
	throughputRuns      = 10_000
	throughputWorkers   = 10
	scaleSmallRuns      = 1_000
	scaleBigRuns        = 100_000
	throughputShortRuns = 400
)

// measureThroughput measures, on a database of its own, how many observed
// materializations per second Servo runs when e.o.Clients clients trigger
// them at once, each for a tenant of its own, against the same number of
// no-op River jobs inserted by as many clients and worked by the same
// number of workers on the same database; then what 100,000 runs in the
// table cost a trigger and the first page of GET /api/v1/runs.
func measureThroughput(ctx context.Context, e *env) ([]row, error) {
	db, err := testdb.Create(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Drop()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	log := zap.NewNop()
	store, err := repository.Open(ctx, db.AppURL, repository.PoolConfig{MaxOpen: e.o.Pool, ConnectTimeout: 10 * time.Second}, log)
	if err != nil {
		return nil, err
	}
	defer func() { _ = store.Close() }()
	cfg := runtime.Config{Workers: throughputWorkers}
	svc, d, err := newService(store, cfg, log)
	if err != nil {
		return nil, err
	}
	rt, err := newRuntime(svc, d, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := rt.Start(ctx); err != nil {
		return nil, err
	}
	defer func() { _ = stopWithin(rt, 5*time.Second) }()
	url, stop, err := serveAPI(svc, store)
	if err != nil {
		return nil, err
	}
	defer stop()

	clients := e.o.Clients
	n := throughputRuns
	if e.o.Short {
		n = throughputShortRuns
	}
	n -= n % clients
	tp := &throughput{e: e, url: url, svc: svc, db: db, n: n, clients: clients, client: httpClient(clients)}
	if err := tp.tenants(ctx, "tp"); err != nil {
		return nil, err
	}
	if err := e.profile(ctx, "throughput", tp.servoRound(ctx)); err != nil {
		return nil, err
	}
	res, err := e.interleaved(
		series{"servo observed runs, trigger to all succeeded", tp.servoRound(ctx)},
		series{"bare river no-op jobs, insert to all worked", tp.riverRound(ctx)},
	)
	if err != nil {
		return nil, err
	}
	rate := row{
		Name: fmt.Sprintf("%d observed materializations triggered at once by %d clients (one tenant each, default cap %d), %d workers: runs/s",
			n, clients, defaultCap, throughputWorkers),
		Clients:  clients,
		Servo:    res[0],
		Baseline: fmt.Sprintf("%d no-op River jobs inserted by %d clients, %d workers, same database: jobs/s", n, clients, throughputWorkers),
		Base:     res[1],
		Target:   ">= 0.3x",
	}
	scale, err := tp.scaleRows(ctx, store, log)
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	return append([]row{rate}, scale...), nil
}

// defaultCap is the runtime's default per-tenant running cap, named in the
// row.
const defaultCap = 4

// throughput is the state of the throughput rows.
type throughput struct {
	e       *env
	url     string
	svc     *service.Service
	db      *testdb.Database
	n       int
	clients int
	client  *http.Client
	keys    []string
	round   int
}

// tenants creates one tenant per client, each with an API key and an
// observed asset named "observed".
func (tp *throughput) tenants(ctx context.Context, prefix string) error {
	for i := range tp.clients {
		t := testdb.TenantID(fmt.Sprintf("%s%02d", prefix, i))
		secret, _, err := tp.svc.CreateAPIKey(domain.WithSystem(ctx), service.CreateAPIKeyInput{TenantID: t, CreateTenant: true})
		if err != nil {
			return err
		}
		if _, err := tp.svc.CreateAsset(domain.WithTenant(ctx, t), service.CreateAssetInput{Name: "observed"}); err != nil {
			return err
		}
		tp.keys = append(tp.keys, secret)
	}
	return nil
}

// trigger materializes the observed asset of the tenant of key.
func (tp *throughput) trigger(ctx context.Context, url, key string) error {
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/materialize", strings.NewReader(`{"asset_name":"observed"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	return do(ctx, tp.client, req, http.StatusAccepted)
}

// servoRound triggers tp.n runs, tp.n/clients per client, each client for
// its tenant, and times them from the first trigger until every one has
// succeeded (polled as the owner every 20ms).
func (tp *throughput) servoRound(ctx context.Context) func() result {
	return func() result {
		owner, err := pgx.Connect(ctx, tp.db.OwnerURL)
		if err != nil {
			logf("  throughput: %v", err)
			return result{Errors: 1}
		}
		defer func() { _ = owner.Close(ctx) }()
		var before int64
		if err := owner.QueryRow(ctx, "SELECT count(*) FROM executions WHERE state = 'succeeded'").Scan(&before); err != nil {
			logf("  throughput: %v", err)
			return result{Errors: 1}
		}
		xacts0, err := xactCount(ctx, owner)
		if err != nil {
			logf("  throughput: %v", err)
			return result{Errors: 1}
		}
		t0 := time.Now()
		errc := make(chan error, tp.clients)
		var wg sync.WaitGroup
		for w := range tp.clients {
			wg.Go(func() {
				for range tp.n / tp.clients {
					if err := tp.trigger(ctx, tp.url, tp.keys[w]); err != nil {
						errc <- err
						return
					}
				}
			})
		}
		wg.Wait()
		triggered := time.Since(t0)
		close(errc)
		if err := <-errc; err != nil {
			logf("  throughput: trigger: %v", err)
			return result{Errors: 1}
		}
		for {
			var done int64
			if err := owner.QueryRow(ctx, "SELECT count(*) FROM executions WHERE state = 'succeeded'").Scan(&done); err != nil {
				logf("  throughput: %v", err)
				return result{Errors: 1}
			}
			if done-before >= int64(tp.n) {
				break
			}
			if time.Since(t0) > 10*time.Minute {
				logf("  throughput: %d of %d runs succeeded after 10 minutes", done-before, tp.n)
				return result{Errors: 1}
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(t0)
		time.Sleep(time.Second) // the statistics of the last transactions reach pg_stat_database
		xacts, err := xactCount(ctx, owner)
		if err != nil {
			logf("  throughput: %v", err)
			return result{Errors: 1}
		}
		logf("  servo: %d runs triggered in %s, all succeeded after %s; %.1f committed transactions per run on the database (triggers, workers, River and this poll)",
			tp.n, triggered.Round(time.Millisecond), took.Round(time.Millisecond), float64(xacts-xacts0)/float64(tp.n))
		return result{RPS: float64(tp.n) / took.Seconds(), P50: took, P99: took, N: 1}
	}
}

// xactCount returns the transactions committed on the database so far.
func xactCount(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&n)
	return n, err
}

// riverRound inserts tp.n no-op jobs into a River client of its own on the
// same database on River's pgx driver, listening as the runtime's workers
// do (its worker count, poll interval and pool size),
// one insert at a time from tp.clients clients, and times them from the
// first insert until every one has been worked.
func (tp *throughput) riverRound(ctx context.Context) func() result {
	return func() result {
		r, err := tp.river(ctx)
		if err != nil {
			logf("  river: %v", err)
			return result{Errors: 1}
		}
		return r
	}
}

func (tp *throughput) river(ctx context.Context) (result, error) {
	tp.round++
	r, err := startNoopRiver(ctx, tp.db.OwnerURL, tp.e.o.Pool, throughputWorkers, fmt.Sprintf("tp_%d", tp.round))
	if err != nil {
		return result{}, err
	}
	defer r.stop(ctx)
	xact := func() (n int64, err error) {
		err = r.db.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&n)
		return n, err
	}
	xacts0, err := xact()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	errc := make(chan error, tp.clients)
	var wg sync.WaitGroup
	for range tp.clients {
		wg.Go(func() {
			for range tp.n / tp.clients {
				if _, err := r.client.Insert(ctx, noopArgs{}, r.opts()); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return result{}, err
	}
	took, err := r.waitDone(t0, tp.n)
	if err != nil {
		return result{}, err
	}
	time.Sleep(time.Second)
	xacts, err := xact()
	if err != nil {
		return result{}, err
	}
	logf("  river: %d jobs worked after %s; %.1f committed transactions per job on the database (Servo's idle runtime included)",
		tp.n, took.Round(time.Millisecond), float64(xacts-xacts0)/float64(tp.n))
	return result{RPS: float64(tp.n) / took.Seconds(), P50: took, P99: took, N: 1}, nil
}

// scaleRows measures one client's trigger latency and first page of GET
// /api/v1/runs for a tenant with scaleBigRuns finished runs in the table
// against one with scaleSmallRuns (short: a tenth and a fiftieth), on a
// server whose runs go to a queue no worker works, so that only the
// request is timed.
func (tp *throughput) scaleRows(ctx context.Context, store *repository.Store, log *zap.Logger) ([]row, error) {
	small, big := scaleSmallRuns, scaleBigRuns
	if tp.e.o.Short {
		small, big = 100, 2_000
	}
	svc, _, err := newService(store, runtime.Config{Queue: "bench_unworked"}, log)
	if err != nil {
		return nil, err
	}
	url, stop, err := serveAPI(svc, store)
	if err != nil {
		return nil, err
	}
	defer stop()
	keys := map[int]string{}
	for _, size := range []int{small, big} {
		tenant := testdb.TenantID(fmt.Sprintf("scale%d", size))
		key, _, err := svc.CreateAPIKey(domain.WithSystem(ctx), service.CreateAPIKeyInput{TenantID: tenant, CreateTenant: true})
		if err != nil {
			return nil, err
		}
		a, err := svc.CreateAsset(domain.WithTenant(ctx, tenant), service.CreateAssetInput{Name: "observed"})
		if err != nil {
			return nil, err
		}
		if err := copyRuns(ctx, tp.db.OwnerURL, tenant, a.ID.String(), size); err != nil {
			return nil, err
		}
		keys[size] = key
	}
	owner, err := pgx.Connect(ctx, tp.db.OwnerURL)
	if err != nil {
		return nil, err
	}
	if _, err := owner.Exec(ctx, "VACUUM ANALYZE executions"); err != nil {
		_ = owner.Close(ctx)
		return nil, err
	}
	_ = owner.Close(ctx)
	trig := func(size int) func() result {
		return func() result {
			return runLoad(ctx, 1, tp.e.o.Duration, func(ctx context.Context, _, _ int) error { return tp.trigger(ctx, url, keys[size]) })
		}
	}
	list := func(size int) func() result {
		return func() result {
			return runLoad(ctx, 1, tp.e.o.Duration, func(ctx context.Context, _, _ int) error {
				req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/runs?limit=50", nil)
				req.Header.Set("Authorization", "Bearer "+keys[size])
				return do(ctx, tp.client, req, http.StatusOK)
			})
		}
	}
	res, err := tp.e.interleaved(
		series{fmt.Sprintf("trigger, %d runs in the tenant", small), trig(small)},
		series{fmt.Sprintf("trigger, %d runs in the tenant", big), trig(big)},
		series{fmt.Sprintf("runs first page, %d runs in the tenant", small), list(small)},
		series{fmt.Sprintf("runs first page, %d runs in the tenant", big), list(big)},
	)
	if err != nil {
		return nil, err
	}
	return []row{
		{Name: fmt.Sprintf("POST /api/v1/materialize with %d runs in the tenant", big), Clients: 1, Servo: res[1],
			Baseline: fmt.Sprintf("same with %d runs", small), Base: res[0], Latency: true, Target: "<= 1.2x"},
		{Name: fmt.Sprintf("GET /api/v1/runs?limit=50 (first page, total included) with %d runs in the tenant", big), Clients: 1, Servo: res[3],
			Baseline: fmt.Sprintf("same with %d runs", small), Base: res[2], Latency: true, Target: "<= 1.2x"},
	}, nil
}

// copyRuns loads n finished runs of asset into tenant's table as the
// owner, with COPY.
func copyRuns(ctx context.Context, ownerURL, tenant, asset string, n int) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	base := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Microsecond)
	rows := make([][]any, 0, n)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Millisecond)
		done := at.Add(time.Second)
		rows = append(rows, []any{uuid.Must(uuid.NewV7()), tenant, asset, "succeeded", "manual", at, done, at, done})
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"executions"},
		[]string{"id", "tenant_id", "asset_id", "state", "trigger", "started_at", "completed_at", "created_at", "updated_at"},
		pgx.CopyFromRows(rows))
	return err
}

// serveAPI serves the API of svc on a loopback port and returns its base
// URL and a function that stops it.
func serveAPI(svc *service.Service, store *repository.Store) (string, func(), error) {
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0"}, api.Deps{DB: store, Pool: store, Log: zap.NewNop(), Version: "bench"})
	if err != nil {
		return "", nil, err
	}
	srv.MountAPI(svc, api.APIOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("  api: %v", err)
		}
	}()
	return "http://" + ln.Addr().String(), func() { _ = hs.Close() }, nil
}
