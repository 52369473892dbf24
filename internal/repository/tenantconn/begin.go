package tenantconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"

	"github.com/jackc/pgx/v5"
)

// One round trip for BEGIN and the tenant context.
//
// A scoped transaction used to cost BEGIN, set_config and COMMIT as three
// round trips around its statements. A transaction begun on a connection
// of this pool under a context of WithBegin is begun with a single
// simple-protocol message, "BEGIN; " followed by SetScopeSQL with literal
// values, so that the tenant is set before any statement of the
// transaction runs, at the cost of one round trip instead of two.
// Row-level security is unchanged: the settings are still
// transaction-local and read by the same policies. Everything else
// (transactions begun without such a context, read-only or non-default
// isolation) takes pgx's ordinary path.

// Begin is the request of WithBegin; Began reports whether it was met.
type Begin struct {
	query string
	began bool
}

// Began reports whether the transaction was begun with the scope set; when
// it was not (the request was not for this pool's connections, or the
// transaction is read-only or of another isolation), the caller runs
// SetScopeSQL itself.
func (b *Begin) Began() bool { return b != nil && b.began }

type beginKey struct{}

// WithBegin returns ctx asking the connection that begins a transaction
// under it to set scope as it begins, and the request, which tells
// whether it did. A request is met once: a second transaction under the
// same context takes the ordinary path.
func WithBegin(ctx context.Context, scope Scope) (context.Context, *Begin) {
	b := &Begin{query: beginQuery(scope)}
	return context.WithValue(ctx, beginKey{}, b), b
}

// beginQuery returns BEGIN followed by SetScopeSQL with the scope's values
// as literals (a simple-protocol message carries no parameters). Tenant
// ids are validated to [a-z0-9_-]; quoting covers the rest regardless.
func beginQuery(scope Scope) string {
	return "BEGIN; " + strings.NewReplacer("$1", quoteLiteral(scope.Tenant), "$2", quoteLiteral(scope.System)).Replace(SetScopeSQL)
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings
// is on in every supported PostgreSQL). A NUL byte cannot be in a text
// value; it is dropped, which no valid tenant id holds.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// BeginTx implements driver.ConnBeginTx.
func (c *scopedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := ctx.Value(beginKey{}).(*Begin)
	if !ok || b.began || opts.ReadOnly || sql.IsolationLevel(opts.Isolation) != sql.LevelDefault {
		return c.Conn.BeginTx(ctx, opts)
	}
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	tx, err := c.Conn.Conn().BeginTx(ctx, pgx.TxOptions{BeginQuery: b.query})
	if err != nil {
		// A failure after BEGIN leaves the connection in a transaction;
		// stdlib's ResetSession discards such a connection.
		return nil, err
	}
	b.began = true
	return scopedTx{ctx: ctx, tx: tx}, nil
}

// scopedTx mirrors stdlib's transaction wrapper.
type scopedTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t scopedTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t scopedTx) Rollback() error { return t.tx.Rollback(t.ctx) }
