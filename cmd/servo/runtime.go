package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
)

// newRuntime builds the run runtime over store and connects it to svc.
// With work false it only dispatches (an API node). The http signing key
// is the configured one, else the one kept in the database (generated on
// first start). Steps are isolated as runtime.isolation says; a process
// that would run steps unisolated refuses to start unless the operator
// chose runtime.isolation=none, which is warned about at every start.
func newRuntime(ctx context.Context, cfg *config.Config, store *repository.Store, svc *service.Service, log *zap.Logger, work bool) (*runtime.Runtime, error) {
	r := cfg.Runtime
	key := []byte(r.SigningKey)
	if len(key) == 0 {
		var err error
		if key, err = svc.SigningKey(domain.WithSystem(ctx)); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	rt, err := runtime.New(svc, runtime.DB{
		Pool:     store.SQLDB(),
		Postgres: store.Dialect() == repository.Postgres,
		TxFrom:   repository.SQLTx,
	}, runtime.Config{
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
		SigningKey:          key,
		Sandbox: runtime.SandboxConfig{
			Isolation: r.Isolation, StepUser: r.StepUser, Network: r.StepNetwork, Path: r.StepPath,
		},
	}, log, work)
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
	svc.UseRuntime(rt, rt.Policy())
	rt.UseBackfills(backfill.New(store, svc, rt))
	return rt, nil
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
	svc := service.New(store)
	orch := newSchedules(store, svc)
	rt, err := newRuntime(ctx, cfg, store, svc, log, true)
	if err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	stopTicker, err := startTicker(ctx, orch, log)
	if err != nil {
		return err
	}
	defer stopTicker()
	log.Info("working runs", zap.Int("workers", cfg.Runtime.Workers))
	<-ctx.Done()
	log.Info("stopping workers", zap.Duration("timeout", cfg.HTTP.ShutdownTimeout))
	return rt.Stop(cfg.HTTP.ShutdownTimeout)
}
