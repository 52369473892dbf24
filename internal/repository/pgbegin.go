package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// One round trip for BEGIN and the tenant context.
//
// A scoped transaction used to cost BEGIN, set_config and COMMIT as three
// round trips around its statements. The connections below begin a
// transaction that carries a beginScope in its context with a single
// simple-protocol message, "BEGIN; SELECT set_config(...)", so that the
// tenant is set before any statement of the transaction runs, at the cost
// of one round trip instead of two. Row-level security is unchanged: the
// settings are still transaction-local and read by the same policies.
// Everything else (River's transactions, transactions begun without a
// scope, read-only or non-default isolation) takes pgx's ordinary path.

// beginScope asks BeginTx to set the tenant context as it begins; began
// reports whether it did, so that InTx sets it itself otherwise.
type beginScope struct {
	query string
	began bool
}

type beginScopeKey struct{}

// scopedBeginQuery returns BEGIN followed by the set_config of setScope,
// with the values as literals (a simple-protocol message carries no
// parameters). Tenant ids are validated to [a-z0-9_-]; quoting covers the
// rest regardless.
func scopedBeginQuery(tenant, system string) string {
	return "BEGIN; SELECT set_config('app.tenant_id', " + quoteLiteral(tenant) + ", true), set_config('app.system', " + quoteLiteral(system) + ", true)"
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings
// is on in every supported PostgreSQL). A NUL byte cannot be in a text
// value; it is dropped, which no valid tenant id holds.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// openScopedPool opens a database/sql pool over pgx whose connections honor
// beginScope.
func openScopedPool(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(scopedConnector{base: stdlib.GetConnector(*cfg)}), nil
}

type scopedConnector struct{ base driver.Connector }

func (c scopedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if sc, ok := conn.(*stdlib.Conn); ok {
		return &scopedConn{Conn: sc}, nil
	}
	return conn, nil
}

func (c scopedConnector) Driver() driver.Driver { return c.base.Driver() }

// scopedConn is a pgx connection (every method and optional interface of
// stdlib.Conn, promoted) whose BeginTx honors beginScope.
type scopedConn struct{ *stdlib.Conn }

// BeginTx implements driver.ConnBeginTx.
func (c *scopedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	bs, ok := ctx.Value(beginScopeKey{}).(*beginScope)
	if !ok || bs.began || opts.ReadOnly || sql.IsolationLevel(opts.Isolation) != sql.LevelDefault {
		return c.Conn.BeginTx(ctx, opts)
	}
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	tx, err := c.Conn.Conn().BeginTx(ctx, pgx.TxOptions{BeginQuery: bs.query})
	if err != nil {
		// A failure after BEGIN leaves the connection in a transaction;
		// stdlib's ResetSession discards such a connection.
		return nil, err
	}
	bs.began = true
	return scopedTx{ctx: ctx, tx: tx}, nil
}

// scopedTx mirrors stdlib's transaction wrapper.
type scopedTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t scopedTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t scopedTx) Rollback() error { return t.tx.Rollback(t.ctx) }
