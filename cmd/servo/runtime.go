package main

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
)

// node is one process's wiring over its store: the use cases, whose runs
// are dispatched as jobs, and, on a process that works runs, the runtime.
type node struct {
	svc       *service.Service
	orch      orchestration
	backfills *backfill.Backfills
	// runtime works runs; nil on a process that works none (serve
	// --no-workers): such a node builds no worker at all.
	runtime *runtime.Runtime
}

// runtimeConfig returns the runtime configuration cfg sets, but for the
// signing key.
func runtimeConfig(cfg *config.Config) runtime.Config {
	r := cfg.Runtime
	return runtime.Config{
		Policy: runtime.Policy{
			Commands: config.List(r.AllowedCommands),
			Hosts:    config.List(r.AllowedHosts),
			// Every process of a deployment shares one configuration, so a
			// worker knows the API's address too.
			Self: []string{cfg.HTTP.Addr},
		},
		MaxRunningPerTenant: r.MaxRunningPerTenant,
		StartsPerMinute:     r.StartsPerMinute,
		Workers:             r.Workers,
		Lease:               r.Lease,
		HeartbeatTimeout:    r.HeartbeatTimeout,
		KillGrace:           r.KillGrace,
		FetchPollInterval:   r.PollInterval,
		Sandbox: runtime.SandboxConfig{
			Isolation: r.Isolation, StepUser: r.StepUser, Network: r.StepNetwork, Path: r.StepPath,
		},
	}
}

// wire builds the use cases over store, dispatching runs as jobs in the
// database and checking compute specs against the configured policy. With
// work it also builds the runtime that works runs: the http signing key is
// the configured one, else the one kept in the database (generated on
// first start); steps are isolated as runtime.isolation says, and a
// process that would run steps unisolated refuses to start unless the
// operator chose runtime.isolation=none, which is warned about at every
// start.
func wire(ctx context.Context, cfg *config.Config, store *repository.Store, log *zap.Logger, work bool) (*node, error) {
	rcfg := runtimeConfig(cfg)
	db, err := runtimeDB(store, work)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	d, err := runtime.NewDispatcher(db, rcfg.Queue, log)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	svc := service.New(store, d, rcfg.ComputePolicy())
	n := &node{svc: svc, orch: newSchedules(store, svc), backfills: backfill.New(store, svc, d)}
	if !work {
		return n, nil
	}
	rcfg.SigningKey = []byte(cfg.Runtime.SigningKey)
	if len(rcfg.SigningKey) == 0 {
		if rcfg.SigningKey, err = svc.SigningKey(domain.WithSystem(ctx)); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	rt, err := runtime.New(svc, svc.Engine(), d, rcfg, log)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	switch rt.Isolation() {
	case runtime.IsolationNone:
		log.Warn("command steps run as the server's own user with no sandbox (runtime.isolation=none): a step can read the server's environment, files and database; use it for development only")
	case runtime.IsolationOff:
	default:
		log.Info("command steps are isolated", zap.String("isolation", rt.Isolation()))
	}
	rt.UseBackfills(n.backfills)
	n.runtime = rt
	return n, nil
}

// runtimeDB is the runtime's view of store. A process that works runs on
// PostgreSQL works them through River's pgx driver over the store's job
// pool, whose listener wakes its workers on every insert of any process.
func runtimeDB(store *repository.Store, work bool) (runtime.DB, error) {
	db := runtime.DB{Pool: store.SQLDB(), Postgres: store.Dialect() == repository.Postgres, TxFrom: repository.SQLTx}
	if work && db.Postgres {
		pool, err := store.JobPool()
		if err != nil {
			return runtime.DB{}, err
		}
		db.Listen = runtime.WorkDriverOf(riverpgxv5.New(pool))
	}
	return db, nil
}

// stopRuntime stops rt, letting running steps finish for up to timeout.
func stopRuntime(rt *runtime.Runtime, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return rt.Stop(ctx)
}

func newWorkerCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Work runs (no HTTP API) until SIGINT or SIGTERM",
		Long: "Work runs without serving the HTTP API, so that API nodes (serve --no-workers) and\n" +
			"worker nodes scale apart on one PostgreSQL. On a signal, running steps get\n" +
			"http.shutdown_timeout to finish; those still running are handed back.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.worker(cmd.Context())
		},
	}
}

func (a *app) worker(ctx context.Context) error {
	cfg, log, err := a.setup()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if repository.DialectOf(cfg.Database.URL) == repository.SQLite {
		if err := migrateSQLite(ctx, cfg.Database, log); err != nil {
			return err
		}
	}
	store, err := repository.Open(ctx, cfg.Database.URL, poolConfig(cfg.Database), log)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() { _ = store.Close() }()
	if err := store.CheckSafety(ctx); err != nil {
		return fmt.Errorf("database safety check: %w", err)
	}
	n, err := wire(ctx, cfg, store, log, true)
	if err != nil {
		return err
	}
	rt := n.runtime
	if err := rt.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	stopTicker, err := startTicker(ctx, n.orch, log)
	if err != nil {
		return err
	}
	defer stopTicker()
	log.Info("working runs", zap.Int("workers", cfg.Runtime.Workers))
	<-ctx.Done()
	log.Info("stopping workers", zap.Duration("timeout", cfg.HTTP.ShutdownTimeout))
	return stopRuntime(rt, cfg.HTTP.ShutdownTimeout)
}
