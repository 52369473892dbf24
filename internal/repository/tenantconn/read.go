package tenantconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// One round trip for a read and its tenant context.
//
// A read outside any transaction carries its scope in its context
// (WithRead). The connections of this pool send each query of such a
// context as a pipeline of two statements and one Sync:
//
//	SetScopeSQL, with the scope's values
//	<the query, tenant clause included>
//
// PostgreSQL runs everything up to a Sync in one implicit transaction, so the
// settings are in force for the query, row-level security reads them as it
// does in an explicit transaction, and they end with it: nothing is left on
// the pooled connection. A read costs one round trip instead of three
// (BEGIN and scope, the query, COMMIT).

type readKey struct{}

// WithRead returns ctx marking every query under it, on a connection of
// this pool that is not in a transaction, as a read in scope: the query
// runs in one pipeline with SetScopeSQL (whose text is constant, so pgx
// prepares it once per connection).
func WithRead(ctx context.Context, scope Scope) context.Context {
	return context.WithValue(ctx, readKey{}, &scope)
}

// ErrWriteOutsideTx refuses a statement other than a query in a read
// context: writes belong in a transaction.
var ErrWriteOutsideTx = errors.New("tenantconn: a write outside a transaction")

// QueryContext implements driver.QueryerContext. A query in a read context,
// on a connection that is not in a transaction, runs in the pipeline
// described above; every other query takes pgx's ordinary path.
func (c *scopedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rs, ok := ctx.Value(readKey{}).(*Scope)
	conn := c.Conn.Conn()
	if !ok || conn.IsClosed() || conn.PgConn().TxStatus() != 'I' {
		return c.Conn.QueryContext(ctx, query, args)
	}
	values := make([]any, len(args))
	for i, a := range args {
		values[i] = a.Value
	}
	br, rows, err := sendScoped(ctx, conn, *rs, query, values)
	if err != nil {
		return nil, retryable(err)
	}
	// As stdlib does: read the first row now, so that an error of the query
	// is the query's error, not the first Next's.
	more := rows.Next()
	if err := rows.Err(); err != nil {
		rows.Close()
		_ = br.Close()
		return nil, retryable(err)
	}
	return &pipelineRows{br: br, rows: rows, m: conn.TypeMap(), pending: true, more: more}, nil
}

// sendScoped sends the scope's set_config and query as one pipeline and
// returns the query's rows; the caller closes rows, then br. On error
// nothing is left open.
func sendScoped(ctx context.Context, conn *pgx.Conn, rs Scope, query string, args []any) (pgx.BatchResults, pgx.Rows, error) {
	br, err := sendScopedBatch(ctx, conn, rs, Statement{SQL: query, Args: args})
	if err != nil {
		return nil, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, nil, err
	}
	return br, rows, nil
}

// sendScopedBatch sends the scope's set_config and the statements as one
// pipeline, and reads the set_config's answer; the caller reads each
// statement's rows in turn, then closes br. On error nothing is left open.
func sendScopedBatch(ctx context.Context, conn *pgx.Conn, rs Scope, stmts ...Statement) (pgx.BatchResults, error) {
	var b pgx.Batch
	set := SetScopeSQL
	if rs.GenericPlan {
		set = setScopeGenericSQL
	}
	b.Queue(set, rs.Tenant, rs.System)
	for _, st := range stmts {
		b.Queue(st.SQL, st.Args...)
	}
	br := conn.SendBatch(ctx, &b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, fmt.Errorf("set tenant context: %w", err)
	}
	return br, nil
}

// ExecContext implements driver.ExecerContext: a statement outside a
// transaction in a read context is refused.
func (c *scopedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if _, ok := ctx.Value(readKey{}).(*Scope); ok && c.Conn.Conn().PgConn().TxStatus() == 'I' {
		return nil, ErrWriteOutsideTx
	}
	return c.Conn.ExecContext(ctx, query, args)
}

// retryable tells database/sql to retry on another connection when nothing
// was sent, as stdlib does.
func retryable(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

// pipelineRows is the query's result, with the values database/sql sees
// converted exactly as pgx's stdlib converts them.
type pipelineRows struct {
	br      pgx.BatchResults
	rows    pgx.Rows
	m       *pgtype.Map
	conv    []func([]byte) (driver.Value, error)
	cols    []string
	pending bool // the first row was read by QueryContext
	more    bool
}

// Columns implements driver.Rows.
func (r *pipelineRows) Columns() []string {
	if r.cols == nil {
		fields := r.rows.FieldDescriptions()
		r.cols = make([]string, len(fields))
		for i, fd := range fields {
			r.cols[i] = fd.Name
		}
	}
	return r.cols
}

// ColumnTypeDatabaseTypeName implements driver.RowsColumnTypeDatabaseTypeName.
func (r *pipelineRows) ColumnTypeDatabaseTypeName(index int) string {
	oid := r.rows.FieldDescriptions()[index].DataTypeOID
	if dt, ok := r.m.TypeForOID(oid); ok {
		return strings.ToUpper(dt.Name)
	}
	return strconv.FormatInt(int64(oid), 10)
}

// Close implements driver.Rows; it ends the batch, which frees the
// connection.
func (r *pipelineRows) Close() error {
	r.rows.Close()
	return errors.Join(r.rows.Err(), r.br.Close())
}

// Next implements driver.Rows.
func (r *pipelineRows) Next(dest []driver.Value) error {
	if r.conv == nil {
		fields := r.rows.FieldDescriptions()
		r.conv = make([]func([]byte) (driver.Value, error), len(fields))
		for i, fd := range fields {
			r.conv[i] = valueFunc(r.m, fd.DataTypeOID, fd.Format)
		}
	}
	more := r.more
	if r.pending {
		r.pending = false
	} else {
		more = r.rows.Next()
	}
	if !more {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	for i, raw := range r.rows.RawValues() {
		if raw == nil {
			dest[i] = nil
			continue
		}
		v, err := r.conv[i](raw)
		if err != nil {
			return fmt.Errorf("convert field %d failed: %w", i, err)
		}
		dest[i] = v
	}
	return nil
}

// valueFunc returns the conversion of a column of type oid to the value
// database/sql receives, the same as pgx's stdlib driver makes: booleans,
// integers and floats as Go numbers, bytea, json, jsonb and xml as bytes,
// dates and timestamps as time.Time, everything else (uuid, text, numeric,
// ...) as its text.
func valueFunc(m *pgtype.Map, oid uint32, format int16) func([]byte) (driver.Value, error) {
	switch oid {
	case pgtype.BoolOID:
		return scanAs(m, oid, format, func(d bool) (driver.Value, error) { return d, nil })
	case pgtype.ByteaOID, pgtype.JSONOID, pgtype.JSONBOID, pgtype.XMLOID:
		return scanAs(m, oid, format, func(d []byte) (driver.Value, error) { return d, nil })
	case pgtype.CIDOID, pgtype.OIDOID, pgtype.XIDOID:
		return scanAs(m, oid, format, func(d pgtype.Uint32) (driver.Value, error) { return d.Value() })
	case pgtype.DateOID:
		return scanAs(m, oid, format, func(d pgtype.Date) (driver.Value, error) { return d.Value() })
	case pgtype.Float4OID:
		return scanAs(m, oid, format, func(d float32) (driver.Value, error) { return float64(d), nil })
	case pgtype.Float8OID:
		return scanAs(m, oid, format, func(d float64) (driver.Value, error) { return d, nil })
	case pgtype.Int2OID:
		return scanAs(m, oid, format, func(d int16) (driver.Value, error) { return int64(d), nil })
	case pgtype.Int4OID:
		return scanAs(m, oid, format, func(d int32) (driver.Value, error) { return int64(d), nil })
	case pgtype.Int8OID:
		return scanAs(m, oid, format, func(d int64) (driver.Value, error) { return d, nil })
	case pgtype.TimestampOID:
		return scanAs(m, oid, format, func(d pgtype.Timestamp) (driver.Value, error) { return d.Value() })
	case pgtype.TimestamptzOID:
		return scanAs(m, oid, format, func(d pgtype.Timestamptz) (driver.Value, error) { return d.Value() })
	default:
		return scanAs(m, oid, format, func(d string) (driver.Value, error) { return d, nil })
	}
}

// scanAs scans a column into a T with pgx's plan for it, then converts.
func scanAs[T any](m *pgtype.Map, oid uint32, format int16, out func(T) (driver.Value, error)) func([]byte) (driver.Value, error) {
	var d T
	plan := m.PlanScan(oid, format, &d)
	return func(src []byte) (driver.Value, error) {
		var zero T
		d = zero
		if err := plan.Scan(src, &d); err != nil {
			return nil, err
		}
		return out(d)
	}
}

// Query runs query on a connection of db, a pool of Open, with pgx itself,
// in the same pipeline as SetScopeSQL for scope (one round trip, one
// implicit transaction), and hands fn the rows: pgx decodes them from the
// binary format into fn's targets without database/sql's conversions,
// which count on an answer of tens of thousands of rows. query uses $n
// placeholders.
func Query(ctx context.Context, db *sql.DB, scope Scope, query string, args []any, fn func(rows pgx.Rows) error) error {
	return QueryAll(ctx, db, scope, Statement{SQL: query, Args: args, Rows: fn})
}

// Statement is one query of a read and what reads its rows.
type Statement struct {
	SQL  string
	Args []any
	Rows func(rows pgx.Rows) error
}

// QueryAll is Query for several statements: they and the scope's
// set_config go in one pipeline (one round trip, one implicit transaction
// in which, under READ COMMITTED, each statement reads its own snapshot),
// and each statement's Rows reads its rows in turn. The first error stops
// the reading and is returned; the statements after a failed one do not
// run.
func QueryAll(ctx context.Context, db *sql.DB, scope Scope, stmts ...Statement) error {
	return withConn(ctx, db, func(sc *scopedConn) error {
		br, err := sendScopedBatch(ctx, sc.Conn.Conn(), scope, stmts...)
		if err != nil {
			return err
		}
		for _, st := range stmts {
			rows, err := br.Query()
			if err == nil {
				err = st.Rows(rows)
				rows.Close()
				err = errors.Join(err, rows.Err())
			}
			if err != nil {
				return errors.Join(err, br.Close())
			}
		}
		return br.Close()
	})
}

// withConn runs fn on a connection of db, a pool of Open, taken from the
// pool for fn alone; a connection of another pool is refused.
func withConn(ctx context.Context, db *sql.DB, fn func(sc *scopedConn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*scopedConn)
		if !ok {
			return fmt.Errorf("tenantconn: a %T is not a connection of this pool", dc)
		}
		return fn(sc)
	})
}
