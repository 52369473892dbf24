package testdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/repository/tenantconn"
	"github.com/servo-data/servo/migrations"
)

// Backend is one store under test with a way around it.
type Backend struct {
	// Name is "postgres" or "sqlite".
	Name string
	// Store is the tenant-scoped store (the application role on PostgreSQL).
	Store *repository.Store
	// Raw runs SQL as the schema owner, outside tenant scoping and (on
	// PostgreSQL, as a superuser) outside row-level security. Placeholders
	// are ? on both dialects.
	Raw *sql.DB
	// Database is the PostgreSQL database behind Store, for tests that open
	// further pools on it (as further processes would); nil on SQLite.
	Database *Database
}

// Postgres reports whether b is the PostgreSQL backend.
func (b *Backend) Postgres() bool { return b.Name == "postgres" }

// Exec runs SQL through Raw, failing the test on error.
func (b *Backend) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if b.Postgres() {
		query = tenantconn.Dollarize(query)
	}
	if _, err := b.Raw.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

var (
	ownerOnce sync.Once
	ownerDB   *sql.DB
	ownerErr  error
)

// sharedOwner returns one owner connection pool to the shared database.
func sharedOwner(t testing.TB, d *Database) *sql.DB {
	t.Helper()
	ownerOnce.Do(func() {
		ownerDB, ownerErr = sql.Open("pgx", d.OwnerURL)
	})
	if ownerErr != nil {
		t.Fatalf("owner connection: %v", ownerErr)
	}
	return ownerDB
}

// SharedOwner returns the binary's one connection pool to the shared
// database as its owner, which bypasses row-level security (to count or
// plant rows). Main closes it after the tests.
func SharedOwner(t testing.TB) *sql.DB {
	t.Helper()
	return sharedOwner(t, Shared(t))
}

// ForEach runs fn as parallel subtests against PostgreSQL (the shared
// database, as the application role) and a fresh SQLite file. Tests on the
// shared database must keep to their own tenants and create no global rows,
// which every tenant sees; use ForEachIsolated for those.
func ForEach(t *testing.T, fn func(t *testing.T, b *Backend)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		d := Shared(t)
		fn(t, &Backend{Name: "postgres", Store: pgStore(t, d), Raw: sharedOwner(t, d), Database: d})
	})
	forSQLite(t, fn)
}

// ForEachIsolated is ForEach on a database of the test's own on PostgreSQL
// too, for tests that create global rows.
func ForEachIsolated(t *testing.T, fn func(t *testing.T, b *Backend)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		d := Fresh(t)
		if err := d.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		raw, err := sql.Open("pgx", d.OwnerURL)
		if err != nil {
			t.Fatalf("owner connection: %v", err)
		}
		st := Open(t, d)
		t.Cleanup(func() { _ = raw.Close() })
		fn(t, &Backend{Name: "postgres", Store: st, Raw: raw, Database: d})
	})
	forSQLite(t, fn)
}

func forSQLite(t *testing.T, fn func(t *testing.T, b *Backend)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "servo.db")
		st := openSQLiteAt(t, path)
		raw, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatalf("open raw sqlite: %v", err)
		}
		t.Cleanup(func() { _ = raw.Close() })
		fn(t, &Backend{Name: "sqlite", Store: st, Raw: raw})
	})
}

var (
	pgOnce  sync.Once
	pgStor  *repository.Store
	pgError error
)

// pgStore shares one application-role store across the binary's tests, as a
// server shares its pool across requests.
func pgStore(t testing.TB, d *Database) *repository.Store {
	t.Helper()
	pgOnce.Do(func() {
		pgStor, pgError = repository.Open(context.Background(), d.AppURL, repository.PoolConfig{MaxOpen: 10}, zap.NewNop())
	})
	if pgError != nil {
		t.Fatalf("open store: %v", pgError)
	}
	return pgStor
}

func openSQLiteAt(t testing.TB, path string) *repository.Store {
	t.Helper()
	ctx := context.Background()
	gdb, err := repository.OpenMigrator(ctx, path, repository.PoolConfig{}, zap.NewNop())
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	if err := migrations.Up(ctx, gdb, migrations.Options{}); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	if sqlDB, err := gdb.DB(); err == nil {
		_ = sqlDB.Close()
	}
	st, err := repository.Open(ctx, path, repository.PoolConfig{}, zap.NewNop())
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// closeShared closes the pools the binary's tests share, once they are done.
func closeShared() {
	if pgStor != nil {
		_ = pgStor.Close()
	}
	if ownerDB != nil {
		_ = ownerDB.Close()
	}
}
