package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/config/defaults"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository/tenantconn"
)

// Dialect names the database behind a Store.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DialectOf returns the dialect a database URL speaks: postgres:// and
// postgresql:// URLs are PostgreSQL, anything else is an SQLite file path.
func DialectOf(url string) Dialect {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// PoolConfig sizes the connection pool.
type PoolConfig struct {
	// MaxOpen caps open connections; default 5.
	MaxOpen int
	// MaxIdle caps idle connections; default MaxOpen. database/sql's own
	// default of 2 starves a busy server of connections.
	MaxIdle int
	// MaxLifetime recycles connections after this long; 0 keeps them.
	MaxLifetime time.Duration
	// ConnectTimeout bounds how long Open keeps retrying; default 30s.
	ConnectTimeout time.Duration
	// SlowQuery is the threshold above which queries are logged as slow.
	SlowQuery time.Duration
	// StockPool keeps pgx's stock database/sql pool on PostgreSQL: a
	// transaction sets the tenant context with a statement of its own and
	// every read opens a transaction. By default the pool is tenantconn's,
	// which sends the tenant context with BEGIN and with each read, a round
	// trip less. Ignored on SQLite.
	StockPool bool
}

func (p *PoolConfig) defaults() {
	if p.MaxOpen <= 0 {
		p.MaxOpen = defaults.MaxOpenConns
	}
	if p.MaxIdle <= 0 || p.MaxIdle > p.MaxOpen {
		p.MaxIdle = p.MaxOpen
	}
	if p.ConnectTimeout <= 0 {
		p.ConnectTimeout = defaults.ConnectTimeout
	}
	if p.SlowQuery <= 0 {
		p.SlowQuery = defaults.SlowQueryThreshold
	}
}

// Store implements domain.Store on GORM.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect Dialect
	log     *zap.Logger
	// plainReads: read runs queries outside a transaction (SQLite, and
	// PostgreSQL through tenantconn's pool, which sets the scope with each
	// query); otherwise reads open a transaction like writes.
	plainReads bool
	// counts caches the totals of listings past domain.TotalBound.
	counts *countCache
	// url and maxLifetime open the job pool (jobpool.go).
	url         string
	maxLifetime time.Duration
	jobs        jobPool
}

var _ domain.Store = (*Store)(nil)

// Open connects to the database at url, retrying with backoff until
// pool.ConnectTimeout passes, and returns a Store whose every statement is
// tenant-scoped.
func Open(ctx context.Context, url string, pool PoolConfig, log *zap.Logger) (*Store, error) {
	pool.defaults()
	dialect := DialectOf(url)
	db, err := openGorm(ctx, url, dialect, pool, log)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(registerTenancy(db), registerQueryCounter(db)); err != nil {
		return nil, fmt.Errorf("register callbacks: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	plain := dialect == SQLite || !pool.StockPool
	return &Store{db: db, sqlDB: sqlDB, dialect: dialect, log: log, plainReads: plain, url: url, maxLifetime: pool.MaxLifetime, counts: newCountCache()}, nil
}

// OpenMigrator connects like Open but without tenant scoping, for the
// migrator, which owns the schema and runs outside any tenant.
func OpenMigrator(ctx context.Context, url string, pool PoolConfig, log *zap.Logger) (*gorm.DB, error) {
	pool.defaults()
	return openGorm(ctx, url, DialectOf(url), pool, log)
}

func openGorm(ctx context.Context, url string, dialect Dialect, pool PoolConfig, log *zap.Logger) (*gorm.DB, error) {
	var dialector gorm.Dialector
	switch dialect {
	case Postgres:
		// Unless asked for the stock pool, the pool's transactions and reads
		// carry the tenant context in the same round trip (tenantconn).
		if pool.StockPool {
			dialector = postgres.Open(url)
			break
		}
		pool, err := tenantconn.Open(url)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", dialect, err)
		}
		dialector = postgres.New(postgres.Config{Conn: pool})
	default:
		if err := privateSQLiteFiles(url); err != nil {
			return nil, err
		}
		dialector = sqlite.Open(sqliteDSN(url))
	}
	cfg := &gorm.Config{
		Logger:                 newGormLogger(log, pool.SlowQuery),
		NowFunc:                now,
		SkipDefaultTransaction: true,
		TranslateError:         true,
		DisableAutomaticPing:   true,
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	if dialect == SQLite {
		// One connection: SQLite has one writer, and a single connection keeps
		// transactions from tripping over each other's locks.
		pool.MaxOpen, pool.MaxIdle = 1, 1
	}
	sqlDB.SetMaxOpenConns(pool.MaxOpen)
	sqlDB.SetMaxIdleConns(pool.MaxIdle)
	sqlDB.SetConnMaxLifetime(pool.MaxLifetime)
	if err := pingWithRetry(ctx, sqlDB, pool.ConnectTimeout, log); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// privateSQLiteFiles makes the database file readable by its owner only:
// it creates a missing file with mode 0600 (SQLite creates the -wal and
// -shm files with the database file's mode) and narrows an existing file
// and its -wal and -shm to 0600.
func privateSQLiteFiles(url string) error {
	path := strings.TrimPrefix(url, "sqlite://")
	if path == "" {
		path = "servo.db"
	}
	path, _, _ = strings.Cut(path, "?")
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open sqlite file %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// sqliteDSN turns a file path into a DSN with foreign keys on, WAL and a
// busy timeout, unless the caller already gave pragmas.
func sqliteDSN(path string) string {
	path = strings.TrimPrefix(path, "sqlite://")
	if path == "" {
		path = "servo.db"
	}
	if strings.Contains(path, "_pragma=") {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
}

// pingWithRetry waits for the database with exponential backoff.
func pingWithRetry(ctx context.Context, db *sql.DB, timeout time.Duration, log *zap.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		err := db.PingContext(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		log.Warn("database not reachable yet", zap.Error(err), zap.Duration("retry_in", delay))
		select {
		case <-ctx.Done():
			return fmt.Errorf("database not reachable within %s: %w", timeout, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 3*time.Second)
	}
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.sqlDB.PingContext(ctx) }

// Stats returns the connection pool's statistics.
func (s *Store) Stats() sql.DBStats { return s.sqlDB.Stats() }

// Close closes the pool and the job pool.
func (s *Store) Close() error {
	s.closeJobPool()
	return s.sqlDB.Close()
}

type txKey struct{}

// txState is the transaction a context carries, with the scope it was
// opened in.
type txState struct {
	tx    *gorm.DB
	scope domain.Scope
}

// InTx implements domain.Transactor. On PostgreSQL the transaction first sets
// app.tenant_id or app.system for row-level security, transaction-local so
// nothing leaks to the next user of the connection. A context that already
// carries a transaction joins it, provided the scope is the same.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	scope, err := domain.ScopeFrom(ctx)
	if err != nil {
		return err
	}
	if cur, ok := ctx.Value(txKey{}).(*txState); ok {
		if cur.scope != scope {
			return fmt.Errorf("%w: a transaction cannot change scope", domain.ErrForbidden)
		}
		return fn(ctx)
	}
	db := s.db.WithContext(ctx)
	var begin *tenantconn.Begin
	if s.dialect == Postgres {
		// Ask the connection to set the scope as it begins (tenantconn);
		// setScope below covers a connection that did not.
		var bctx context.Context
		bctx, begin = tenantconn.WithBegin(ctx, scopeSettings(scope))
		db = s.db.WithContext(bctx)
	}
	err = db.Transaction(func(tx *gorm.DB) error {
		if !begin.Began() {
			if err := s.setScope(tx, scope); err != nil {
				return err
			}
		}
		return fn(context.WithValue(ctx, txKey{}, &txState{tx: tx, scope: scope}))
	})
	return translate(err)
}

// scopeSettings returns the values of app.tenant_id and app.system for
// scope.
func scopeSettings(scope domain.Scope) tenantconn.Scope {
	s := tenantconn.Scope{Tenant: scope.TenantID()}
	if scope.IsSystem() {
		s.System = "on"
	}
	return s
}

// setScope makes the scope visible to row-level security for the rest of
// the transaction.
func (s *Store) setScope(tx *gorm.DB, scope domain.Scope) error {
	if s.dialect != Postgres {
		return nil
	}
	set := scopeSettings(scope)
	err := tx.Exec(tenantconn.SetScopeSQL, set.Tenant, set.System).Error
	if err != nil {
		return fmt.Errorf("set tenant context: %w", err)
	}
	return nil
}

// run calls fn with the transaction ctx carries, or in a new one.
func (s *Store) run(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if cur, ok := ctx.Value(txKey{}).(*txState); ok {
		scope, err := domain.ScopeFrom(ctx)
		if err != nil {
			return err
		}
		if cur.scope != scope {
			return fmt.Errorf("%w: a transaction cannot change scope", domain.ErrForbidden)
		}
		return translate(fn(cur.tx.WithContext(ctx)))
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		return fn(ctx.Value(txKey{}).(*txState).tx.WithContext(ctx))
	})
}

// read calls fn with the transaction ctx carries or, outside one, with a
// handle whose every query sets the scope in the same round trip and its
// own implicit transaction (tenantconn). It is for read-only work whose
// statements need no snapshot in common; fn must not write.
func (s *Store) read(ctx context.Context, fn func(db *gorm.DB) error) error {
	if _, ok := ctx.Value(txKey{}).(*txState); ok || !s.plainReads {
		return s.run(ctx, fn)
	}
	scope, err := domain.ScopeFrom(ctx)
	if err != nil {
		return err
	}
	qctx := ctx
	if s.dialect == Postgres {
		qctx = tenantconn.WithRead(ctx, scopeSettings(scope))
	}
	return translate(fn(s.db.WithContext(qctx)))
}

// pgxRead runs query (with $n placeholders) outside a transaction on a
// connection of the pool, in one pipeline with the scope's settings, and
// hands fn pgx's own rows (tenantconn.Query).
func (s *Store) pgxRead(ctx context.Context, sc tenantconn.Scope, query string, args []any, fn func(rows pgx.Rows) error) error {
	return tenantconn.Query(ctx, s.sqlDB, sc, query, args, fn)
}

// pgxReadAll is pgxRead for several statements, in one round trip
// (tenantconn.QueryAll).
func (s *Store) pgxReadAll(ctx context.Context, sc tenantconn.Scope, stmts ...tenantconn.Statement) error {
	return tenantconn.QueryAll(ctx, s.sqlDB, sc, stmts...)
}

// errNotFound reports an absent row, in the repository's terms
// (domain.ErrNoRows), with what was missing.
func errNotFound(what string) error {
	return fmt.Errorf("%s: %w", what, domain.ErrNoRows)
}

// firstOrNotFound turns GORM's record-not-found into domain.ErrNoRows.
func firstOrNotFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errNotFound(what)
	}
	return err
}

// SQLTx returns the database/sql transaction of the store transaction ctx
// carries, for work that must commit with it (enqueuing a run's job).
func SQLTx(ctx context.Context) (*sql.Tx, bool) {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return nil, false
	}
	tx, ok := st.tx.Statement.ConnPool.(*sql.Tx)
	return tx, ok
}

// SQLDB returns the pool behind the store, for the job queue to share.
func (s *Store) SQLDB() *sql.DB { return s.sqlDB }

// deleteByID deletes the row of model M with the given id in tx; when no
// row went (none, or not the scope's), it reports the absence as what.
// updateByID is the read-modify-write of one row of model M: it locks row
// id (only rows the scope may write), hands its domain form to fn, writes
// the columns that cols gives for the changed value and reads the row back,
// all in one transaction. A row the scope cannot write is errNotFound(what).
func updateByID[M any, PM interface {
	*M
	toDomain() D
}, D any](s *Store, ctx context.Context, id uuid.UUID, what string, fn func(*D) error, cols func(*D) map[string]any) (*D, error) {
	var out D
	err := s.run(ctx, func(tx *gorm.DB) error {
		row := new(M)
		if err := firstOrNotFound(s.lockForUpdate(tx.Where("id = ?", id)).Take(row).Error, what); err != nil {
			return err
		}
		d := PM(row).toDomain()
		if err := fn(&d); err != nil {
			return err
		}
		res := tx.Model(new(M)).Where("id = ?", id).Updates(cols(&d))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotFound(what)
		}
		row = new(M)
		if err := firstOrNotFound(tx.Where("id = ?", id).Take(row).Error, what); err != nil {
			return err
		}
		out = PM(row).toDomain()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func deleteByID[M any](tx *gorm.DB, id uuid.UUID, what string) error {
	res := tx.Where("id = ?", id).Delete(new(M))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNotFound(what)
	}
	return nil
}
