package tenantconn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// A read of one row at the protocol level.
//
// Query goes through pgx's batch and rows: a pipeline state kept in lists,
// a batch of queued statements, scan plans made afresh for every answer.
// For the hottest read of the API (one row by id) those cost more than the
// decoding itself. QueryRow sends the same two statements (the scope's
// set_config, then the query) as one pgconn batch of prepared statements,
// one write and one Sync, and scans the row with plans kept on the
// connection for the statement. The round trip, the implicit transaction
// and row-level security are those of Query.

// rowStatement is what a connection keeps for a statement of QueryRow: its
// description (the prepared statement), and the scan plans of its columns
// for the destination types they were made for.
type rowStatement struct {
	sd    *pgconn.StatementDescription
	types []reflect.Type
	plans []pgtype.ScanPlan
}

// QueryRow runs query on a connection of db, a pool of Open, in one round
// trip with SetScopeSQL for scope, as Query does, and scans the first row
// of its answer into dest, one destination per column; it reports whether
// there was a row. A query of more rows has the first scanned and the
// others dropped. query uses $n placeholders; it is prepared on each
// connection and kept there, so its text comes from a fixed set (a
// constant), never built per call.
func QueryRow(ctx context.Context, db *sql.DB, scope Scope, query string, args []any, dest ...any) (bool, error) {
	var found bool
	err := withConn(ctx, db, func(sc *scopedConn) error {
		var err error
		found, err = sc.queryRow(ctx, scope, query, args, dest)
		return err
	})
	return found, err
}

// queryRow is QueryRow on c.
func (c *scopedConn) queryRow(ctx context.Context, scope Scope, query string, args []any, dest []any) (bool, error) {
	pc := c.Conn.Conn()
	if pc.PgConn().TxStatus() != 'I' {
		return false, errors.New("tenantconn: a read on a connection in a transaction")
	}
	set := SetScopeSQL
	if scope.GenericPlan {
		set = setScopeGenericSQL
	}
	setSD, err := pc.Prepare(ctx, set, set)
	if err != nil {
		return false, fmt.Errorf("set tenant context: %w", err)
	}
	sd, err := pc.Prepare(ctx, query, query)
	if err != nil {
		return false, err
	}
	found, err := c.sendRow(ctx, pc, setSD, sd, scope, query, args, dest)
	if stale(err) {
		// The prepared statement no longer matches the schema (a migration
		// changed a table under a live connection; the failed read changed
		// nothing and ended at its Sync): prepare it afresh and read again,
		// once.
		delete(c.rows, query)
		if derr := pc.Deallocate(ctx, query); derr != nil {
			return false, errors.Join(err, derr)
		}
		if sd, err = pc.Prepare(ctx, query, query); err != nil {
			return false, err
		}
		found, err = c.sendRow(ctx, pc, setSD, sd, scope, query, args, dest)
	}
	if err != nil {
		// Not retryable(err): database/sql retries nothing under Raw, and
		// driver.ErrBadConn would only hide the cause.
		return false, err
	}
	return found, nil
}

// sendRow sends the scope's statement and the query as one batch and reads
// their answers.
func (c *scopedConn) sendRow(ctx context.Context, pc *pgx.Conn, setSD, sd *pgconn.StatementDescription, scope Scope, query string, args, dest []any) (bool, error) {
	if len(sd.Fields) != len(dest) {
		return false, fmt.Errorf("tenantconn: %d destinations for %d columns", len(dest), len(sd.Fields))
	}
	m := pc.TypeMap()
	var batch pgconn.Batch
	eqb := &c.eqb
	if err := eqb.Build(m, setSD, []any{scope.Tenant, scope.System}); err != nil {
		return false, fmt.Errorf("set tenant context: %w", err)
	}
	// The scope's answer is dropped: its columns come as text (nil), and
	// the builder's slices, which the next Build reuses, are not kept.
	batch.ExecStatement(setSD, eqb.ParamValues, eqb.ParamFormats, nil)
	if err := eqb.Build(m, sd, args); err != nil {
		return false, err
	}
	batch.ExecStatement(sd, eqb.ParamValues, eqb.ParamFormats, eqb.ResultFormats)
	st := c.rowStatement(m, query, sd, eqb.ResultFormats, dest)

	mrr := pc.PgConn().ExecBatch(ctx, &batch)
	found, err := readScoped(mrr, st, dest)
	if err = errors.Join(err, mrr.Close()); err != nil {
		return false, err
	}
	return found, nil
}

// readScoped reads the answers of the scope's statement and the query,
// scanning the query's first row into dest with st's plans.
func readScoped(mrr *pgconn.MultiResultReader, st *rowStatement, dest []any) (bool, error) {
	if !mrr.NextResult() {
		return false, fmt.Errorf("set tenant context: %w", mrr.Close())
	}
	if _, err := mrr.ResultReader().Close(); err != nil {
		return false, fmt.Errorf("set tenant context: %w", err)
	}
	if !mrr.NextResult() {
		return false, mrr.Close()
	}
	rr := mrr.ResultReader()
	found := rr.NextRow()
	if found {
		for i, v := range rr.Values() {
			if err := st.plans[i].Scan(v, dest[i]); err != nil {
				_, _ = rr.Close()
				return false, fmt.Errorf("scan column %d (%s): %w", i, st.sd.Fields[i].Name, err)
			}
		}
	}
	_, err := rr.Close()
	return found && err == nil, err
}

// rowStatement returns the scan plans of query's columns into dest's
// types, made on the first read of query on this connection and again
// when the statement was prepared afresh or the types differ.
func (c *scopedConn) rowStatement(m *pgtype.Map, query string, sd *pgconn.StatementDescription, formats []int16, dest []any) *rowStatement {
	st := c.rows[query]
	if st != nil && st.sd == sd && len(st.types) == len(dest) {
		same := true
		for i, d := range dest {
			if st.types[i] != reflect.TypeOf(d) {
				same = false
				break
			}
		}
		if same {
			return st
		}
	}
	st = &rowStatement{sd: sd, types: make([]reflect.Type, len(dest)), plans: make([]pgtype.ScanPlan, len(dest))}
	for i, d := range dest {
		st.types[i] = reflect.TypeOf(d)
		st.plans[i] = m.PlanScan(sd.Fields[i].DataTypeOID, formats[i], d)
	}
	if c.rows == nil {
		c.rows = make(map[string]*rowStatement)
	}
	c.rows[query] = st
	return st
}

// stale reports an error of a prepared statement that a schema change
// invalidated: its result type changed, or it is gone.
func stale(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "0A000" || pgErr.Code == "26000")
}
