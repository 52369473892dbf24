package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/transport/api"
	"github.com/servo-data/servo/internal/transport/console"
	"github.com/servo-data/servo/migrations"
)

func newServeCmd(a *app) *cobra.Command {
	var noWorkers bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API until SIGINT or SIGTERM",
		Long: "Serve the HTTP API until SIGINT or SIGTERM, then drain in-flight requests and exit.\n\n" +
			"With SQLite, pending migrations are applied first. With PostgreSQL, the server refuses\n" +
			"to start as a role that could bypass row-level security, or on a schema whose\n" +
			"migrations are not all applied: run `servo migrate up` as the schema owner first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), !noWorkers)
		},
	}
	cmd.Flags().BoolVar(&noWorkers, "no-workers", false, "serve the API only; runs are worked by `servo worker` processes")
	return cmd
}

func (a *app) serve(ctx context.Context, work bool) (err error) {
	cfg, log, err := a.setup()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	db := cfg.Database
	dialect := repository.DialectOf(db.URL)
	log.Info("starting servo",
		zap.String("version", buildVersion()),
		zap.String("database", string(dialect)),
		zap.String("addr", cfg.HTTP.Addr))

	if dialect == repository.SQLite {
		if err := migrateSQLite(ctx, db, log); err != nil {
			return err
		}
	}

	store, err := repository.Open(ctx, db.URL, poolConfig(db), log)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			log.Warn("close database pool", zap.Error(cerr))
		}
		log.Info("database pool closed")
	}()
	if err := store.CheckSafety(ctx); err != nil {
		return fmt.Errorf("database safety check: %w", err)
	}

	n, err := wire(ctx, cfg, store, log, work)
	if err != nil {
		return err
	}
	svc, orch := n.svc, n.orch
	isolation := ""
	if n.runtime != nil && n.runtime.Isolation() != runtime.IsolationOff {
		isolation = n.runtime.Isolation()
	}
	srv, err := api.New(
		api.Config{
			Addr: cfg.HTTP.Addr, ShutdownTimeout: cfg.HTTP.ShutdownTimeout, RequestTimeout: cfg.HTTP.RequestTimeout,
			RateLimit: float64(cfg.HTTP.RateLimit), RateBurst: cfg.HTTP.RateBurst,
			TenantInflight: cfg.TenantInflight(), DecodeBudget: int64(cfg.HTTP.DecodeBudget),
			TenantIngestShare: float64(cfg.HTTP.TenantIngestShare),
		},
		api.Deps{DB: store, Pool: store, Log: log, Version: buildVersion(), StepIsolation: isolation},
	)
	if err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	console.Mount(srv.Echo())
	if cfg.Auth.AdminKey == "" {
		log.Info("no admin key configured: tenants and keys are managed with `servo tenants` and `servo keys`")
	}
	if rt := n.runtime; rt != nil {
		if err := rt.Start(ctx); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
		defer func() {
			if serr := stopRuntime(rt, cfg.HTTP.ShutdownTimeout); serr != nil {
				log.Warn("stop workers", zap.Error(serr))
			}
		}()
	}
	ol, err := openlineage.New(svc, store, openlineage.Options{
		Mode: openlineage.Mode(cfg.OpenLineage.Mode), Retention: cfg.OpenLineage.Retention, Log: log.Named("openlineage"),
		OutputsCompleted: orch.outputsCompleted,
	})
	if err != nil {
		return err
	}
	if work {
		stopTicker, err := startTicker(ctx, orch, log)
		if err != nil {
			return err
		}
		defer stopTicker()
	}
	srv.MountAPI(svc, api.APIOptions{AdminKey: cfg.Auth.AdminKey, OpenLineage: ol,
		Backfills: n.backfills, Schedules: orch.sched, Freshness: orch.fresh, Automations: orch.auto})
	return srv.ListenAndServe(ctx)
}

// migrateSQLite brings an SQLite file's schema up to date. An embedded
// database has no separate owner, so the server migrates it itself, on the
// same file it then serves.
func migrateSQLite(ctx context.Context, db config.Database, log *zap.Logger) error {
	gdb, err := repository.OpenMigrator(ctx, db.URL, poolConfig(db), log)
	if err != nil {
		return fmt.Errorf("open database for migrations: %w", err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return fmt.Errorf("open database for migrations: %w", err)
	}
	defer func() { _ = sqlDB.Close() }()
	if err := migrations.Up(ctx, gdb, migrations.Options{AppRole: db.AppRole}); err != nil {
		return fmt.Errorf("apply migrations to %s: %w", db.URL, err)
	}
	log.Info("database schema is up to date", zap.String("path", db.URL))
	return nil
}
