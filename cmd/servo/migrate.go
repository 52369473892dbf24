package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/migrations"
)

func newMigrateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Manage the database schema",
		Long: "Manage the database schema. Migrations run against database.migrate_url\n" +
			"(SERVO_MIGRATE_DATABASE_URL), which should connect as the role that owns the schema,\n" +
			"and fall back to database.url.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("migrate needs a subcommand: up, down or status")
		},
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "up",
			Short: "Apply every pending migration",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.migrate(cmd.Context(), migrateUp)
			},
		},
		&cobra.Command{
			Use:   "down",
			Short: "Roll back the most recent migration",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.migrate(cmd.Context(), migrateDown)
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "List every migration as applied or pending",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.migrate(cmd.Context(), migrateStatus)
			},
		},
	)
	return cmd
}

// migrateAction is one of the migrate subcommands.
type migrateAction func(ctx context.Context, a *app, db *gorm.DB, cfg *config.Config) error

func (a *app) migrate(ctx context.Context, action migrateAction) error {
	cfg, log, err := a.setup()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	url := cfg.Database.MigrateURL
	log.Debug("migrating", zap.String("database", string(repository.DialectOf(url))))
	db, err := repository.OpenMigrator(ctx, url, poolConfig(cfg.Database), log)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() { _ = sqlDB.Close() }()
	return action(ctx, a, db, cfg)
}

func migrateUp(ctx context.Context, a *app, db *gorm.DB, cfg *config.Config) error {
	before, err := applied(ctx, db)
	if err != nil {
		return err
	}
	if err := migrations.Up(ctx, db, migrations.Options{AppRole: cfg.Database.AppRole}); err != nil {
		return err
	}
	after, err := migrations.Status(ctx, db)
	if err != nil {
		return err
	}
	n := 0
	for _, s := range after {
		if s.Applied && !before[s.ID] {
			n++
			if _, err := fmt.Fprintf(a.stdout, "applied %s\n", s.ID); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		_, err = fmt.Fprintln(a.stdout, "no pending migrations")
	}
	return err
}

func migrateDown(ctx context.Context, a *app, db *gorm.DB, cfg *config.Config) error {
	before, err := applied(ctx, db)
	if err != nil {
		return err
	}
	if len(before) == 0 {
		return errors.New("migrate down: nothing to roll back, no migration has been applied")
	}
	if err := migrations.Down(ctx, db, migrations.Options{AppRole: cfg.Database.AppRole}); err != nil {
		return err
	}
	after, err := applied(ctx, db)
	if err != nil {
		return err
	}
	for id := range before {
		if !after[id] {
			if _, err := fmt.Fprintf(a.stdout, "rolled back %s\n", id); err != nil {
				return err
			}
		}
	}
	return nil
}

func migrateStatus(ctx context.Context, a *app, db *gorm.DB, _ *config.Config) error {
	states, err := migrations.Status(ctx, db)
	if err != nil {
		return err
	}
	for _, s := range states {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		if _, err := fmt.Fprintf(a.stdout, "%s\t%s\n", s.ID, state); err != nil {
			return err
		}
	}
	return nil
}

// applied returns the ids of the applied migrations.
func applied(ctx context.Context, db *gorm.DB) (map[string]bool, error) {
	states, err := migrations.Status(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(states))
	for _, s := range states {
		if s.Applied {
			out[s.ID] = true
		}
	}
	return out, nil
}
