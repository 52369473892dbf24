// Package testdb gives tests real databases: a fresh PostgreSQL database per
// test binary, migrated by a superuser that owns the schema and reached by
// the tests as a separate application role that is not superuser, not owner
// and not BYPASSRLS, so row-level security is really in force; and SQLite
// files for the contract suite.
//
// PostgreSQL is found through TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), which must
// name a role that may create roles and databases. A missing server is a
// test failure with a clear message, never a skip.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/testutil"
	"github.com/servo-data/servo/migrations"
)

// AppRole is the application role the tests connect as.
const AppRole = "servo_test_app"

const appPassword = "servo_test_app"

// DefaultAdminURL is used when TEST_DATABASE_URL is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL of the administrative PostgreSQL connection.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// Database is one PostgreSQL database made for tests.
type Database struct {
	Name string
	// OwnerURL connects as the administrative role that owns the schema.
	OwnerURL string
	// AppURL connects as AppRole.
	AppURL string
}

var (
	mu       sync.Mutex // guards created
	created  []string
	sharedMu sync.Mutex // guards shared
	shared   *Database
)

func withDB(raw, db, user, password string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse %q: %w", raw, err)
	}
	u.Path = "/" + db
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String(), nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// admin opens the administrative connection or explains why it cannot.
func admin(ctx context.Context) (*sql.DB, error) {
	db, err := sql.Open("pgx", AdminURL())
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("PostgreSQL is required for these tests and is not reachable at %s (set TEST_DATABASE_URL, or start it: see README): %w", redact(AdminURL()), err)
	}
	return db, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// ensureRole creates AppRole with a login when missing. Test binaries run in
// parallel, so an advisory lock serialises the check and the create.
func ensureRole(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7700001)"); err != nil {
		return err
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7700001)") }()
	ident := pgx.Identifier{AppRole}.Sanitize()
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", AppRole).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		_, err = conn.ExecContext(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE", ident, appPassword))
		var pgErr *pgconn.PgError
		if err != nil && !(errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505")) {
			return fmt.Errorf("create role %s: %w", AppRole, err)
		}
		return nil
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf("ALTER ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOBYPASSRLS", ident, appPassword))
	return err
}

// Create makes an empty database owned by the administrative role, with
// AppRole ready to log in. Migrate it with Migrate.
func Create(ctx context.Context) (*Database, error) {
	db, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	if err := ensureRole(ctx, db); err != nil {
		return nil, err
	}
	name := "servo_test_" + randomSuffix()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	mu.Lock()
	created = append(created, name)
	mu.Unlock()
	owner, err := withDB(AdminURL(), name, "", "")
	if err != nil {
		return nil, err
	}
	app, err := withDB(AdminURL(), name, AppRole, appPassword)
	if err != nil {
		return nil, err
	}
	return &Database{Name: name, OwnerURL: owner, AppURL: app}, nil
}

// Migrate applies every migration to d as its owner.
func (d *Database) Migrate(ctx context.Context) error {
	gdb, err := repository.OpenMigrator(ctx, d.OwnerURL, repository.PoolConfig{MaxOpen: 2}, zap.NewNop())
	if err != nil {
		return err
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	defer func() { _ = sqlDB.Close() }()
	return migrations.Up(ctx, gdb, migrations.Options{AppRole: AppRole})
}

// Shared returns the binary's migrated database, creating it on first use.
func Shared(t testing.TB) *Database {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil {
		ctx := context.Background()
		d, err := Create(ctx)
		if err == nil {
			err = d.Migrate(ctx)
		}
		if err != nil {
			t.Fatalf("test database: %v", err)
		}
		shared = d
	}
	return shared
}

// Fresh returns a new, empty database dropped when the test ends.
func Fresh(t testing.TB) *Database {
	t.Helper()
	d, err := Create(context.Background())
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(func() { drop(d.Name) })
	return d
}

// Drop drops d, for programs (the benchmark) that make databases outside a
// test binary.
func (d *Database) Drop() { drop(d.Name) }

func drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := admin(ctx)
	if err != nil {
		return
	}
	defer func() { _ = db.Close() }()
	_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

// Main runs a package's tests, fails the binary when goroutines they started
// are still running afterwards (see testutil.FindLeaks; opts ignore more,
// each with its reason at the call site), and drops the databases they made.
// The pools the binary's tests share are closed first: they live as long as
// the binary, not as a test.
func Main(m *testing.M, opts ...goleak.Option) {
	if err := ensureStepUser(); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		os.Exit(1)
	}
	code := m.Run()
	closeShared()
	if code == 0 {
		if err := testutil.FindLeaks(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: goroutines left running after the tests: %v\n", err)
			code = 1
		}
	}
	mu.Lock()
	names := append([]string(nil), created...)
	mu.Unlock()
	for _, n := range names {
		drop(n)
	}
	os.Exit(code)
}

// Open returns a tenant-scoped store on PostgreSQL as AppRole, closed when
// the test ends.
func Open(t testing.TB, d *Database) *repository.Store {
	t.Helper()
	st, err := repository.Open(context.Background(), d.AppURL, repository.PoolConfig{MaxOpen: 8, ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// OpenSQLite returns a migrated store on a new SQLite file in a temporary
// directory.
func OpenSQLite(t testing.TB) *repository.Store {
	t.Helper()
	return openSQLiteAt(t, filepath.Join(t.TempDir(), "servo.db"))
}

// TenantID returns a tenant id unique to this run, so parallel tests never
// share tenants.
func TenantID(prefix string) string {
	return strings.ToLower(prefix) + "-" + randomSuffix() + randomSuffix()
}
