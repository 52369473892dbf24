package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/gorm"
)

// riverAfter is the Servo migration that needs River's tables (it grants
// the application role access to them). River's schema is migrated by
// River's own migrator, one version per transaction as it requires, before
// Servo's migrations run; rolling Servo back past riverAfter removes it.
const riverAfter = "0004_runtime"

// migrateRiver brings River's job tables up to this binary's River version,
// or removes them. Each River version is applied in a transaction of its
// own (one of them adds an enum value, which PostgreSQL cannot use in the
// transaction that adds it), on conn: the connection that holds the
// migration lock.
func migrateRiver(ctx context.Context, conn *gorm.DB, dir rivermigrate.Direction) error {
	var driver *rivermigrate.Migrator[*sql.Tx]
	var err error
	if dialectOf(conn) == "postgres" {
		driver, err = rivermigrate.New(riverdatabasesql.New(nil), nil)
	} else {
		driver, err = rivermigrate.New(riversqlite.New(nil), nil)
	}
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	opts := &rivermigrate.MigrateOpts{MaxSteps: 1}
	if dir == rivermigrate.DirectionDown {
		opts.TargetVersion = -1
	}
	for {
		var res *rivermigrate.MigrateResult
		err := conn.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
			if !ok {
				return fmt.Errorf("river migrations need a transaction, got %T", tx.Statement.ConnPool)
			}
			var err error
			// One version per transaction (MaxSteps 1) is the use River's
			// deprecation note asks for; Migrate would need a pool of its own,
			// outside the connection that holds the migration lock.
			//lint:ignore SA1019 one version per transaction, see above
			res, err = driver.MigrateTx(ctx, sqlTx, dir, opts)
			return err
		})
		if err != nil {
			return fmt.Errorf("river schema %s: %w", dir, err)
		}
		if len(res.Versions) == 0 {
			return nil
		}
	}
}
