package tenantconn_test

// The pool's two paths, a transaction that sets the tenant context with its
// BEGIN and a read that sends it in one pipeline with the query, held to
// what an ordinary transaction gives: the scope in force, row-level
// security on raw SQL, nothing left on the pooled connection, and the same
// values read back as pgx's own database/sql driver gives.

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/servo-data/servo/internal/repository/tenantconn"
	"github.com/servo-data/servo/internal/testdb"
)

// notesDB returns a new database holding a table "notes" under row-level
// security (a row is visible to its tenant only) and a pool of Open on it
// as the application role, with one connection so that every statement runs
// on the connection the previous one used. Tenants a and b hold two notes
// each.
func notesDB(t *testing.T) *sql.DB {
	t.Helper()
	db, _ := notesDBOwned(t)
	return db
}

// notesDBOwned is notesDB that also returns the owner's URL, for schema
// changes.
func notesDBOwned(t *testing.T) (*sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	d := testdb.Fresh(t)
	owner, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	for _, q := range []string{
		"CREATE TABLE notes (tenant text NOT NULL, body text NOT NULL)",
		"ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
		"CREATE POLICY notes_tenant ON notes USING (tenant = current_setting('app.tenant_id', true))",
		"GRANT SELECT, INSERT, DELETE ON notes TO " + testdb.AppRole,
		"INSERT INTO notes VALUES ('a', 'a1'), ('a', 'a2'), ('b', 'b1'), ('b', 'b2')",
	} {
		if _, err := owner.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db, err := tenantconn.Open(d.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db, d.OwnerURL
}

// strings1 runs query through q and returns the first column of each row.
func strings1(t *testing.T, ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) []string {
	t.Helper()
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer func() { _ = rows.Close() }()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRead_ScopeInForceAndNoLeak(t *testing.T) {
	t.Parallel()
	db := notesDB(t)
	bg := context.Background()
	read := func(tenant string) context.Context {
		return tenantconn.WithRead(bg, tenantconn.Scope{Tenant: tenant})
	}

	for _, tc := range []struct {
		tenant string
		want   []string
	}{
		{"a", []string{"a1", "a2"}},
		{"b", []string{"b1", "b2"}},
		{"", []string{}}, // no tenant fails closed
		{"c", []string{}},
	} {
		// No tenant condition in the SQL: row-level security alone filters.
		if got := strings1(t, read(tc.tenant), db, "SELECT body FROM notes ORDER BY body"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tenant %q reads %v, want %v", tc.tenant, got, tc.want)
		}
		// Parameters of the query go with it, after the scope's.
		if got := strings1(t, read(tc.tenant), db, "SELECT body FROM notes WHERE body > $1 ORDER BY body", tc.tenant+"1"); len(got) > 1 {
			t.Errorf("tenant %q reads %v past %s1, want at most one", tc.tenant, got, tc.tenant)
		}
		if got := strings1(t, read(tc.tenant), db, "SELECT current_setting('app.tenant_id', true)"); !reflect.DeepEqual(got, []string{tc.tenant}) {
			t.Errorf("app.tenant_id in the read = %v, want %q", got, tc.tenant)
		}
		// The setting ended with the read's implicit transaction.
		if got := strings1(t, bg, db, "SELECT coalesce(current_setting('app.tenant_id', true), '')"); !reflect.DeepEqual(got, []string{""}) {
			t.Errorf("app.tenant_id after tenant %q's read = %v, want empty", tc.tenant, got)
		}
		if got := strings1(t, bg, db, "SELECT body FROM notes"); len(got) != 0 {
			t.Errorf("a query without a scope after tenant %q's read sees %v", tc.tenant, got)
		}
	}

	// A statement that is not a query is refused in a read context and
	// changes nothing.
	if _, err := db.ExecContext(read("a"), "DELETE FROM notes"); !errors.Is(err, tenantconn.ErrWriteOutsideTx) {
		t.Errorf("DELETE in a read context: err = %v, want ErrWriteOutsideTx", err)
	}
	// A failing query reports PostgreSQL's error and leaves the connection
	// usable.
	if _, err := db.QueryContext(read("a"), "SELECT no_such_column FROM notes"); err == nil {
		t.Error("a bad query succeeded")
	}
	if got := strings1(t, read("a"), db, "SELECT body FROM notes ORDER BY body"); !reflect.DeepEqual(got, []string{"a1", "a2"}) {
		t.Errorf("tenant a reads %v after the refused DELETE and the bad query, want [a1 a2]", got)
	}
	// Inside a transaction the read context is not used: the transaction's
	// own settings are in force.
	tx, err := db.BeginTx(read("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings1(t, read("a"), tx, "SELECT body FROM notes"); len(got) != 0 {
		t.Errorf("a transaction without a scope of its own reads %v", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
}

func TestBegin_ScopeSetWithBegin(t *testing.T) {
	t.Parallel()
	db := notesDB(t)
	bg := context.Background()

	ctx, begin := tenantconn.WithBegin(bg, tenantconn.Scope{Tenant: "b"})
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !begin.Began() {
		t.Error("Began() = false after a read-write transaction of the default isolation")
	}
	if got := strings1(t, ctx, tx, "SELECT body FROM notes ORDER BY body"); !reflect.DeepEqual(got, []string{"b1", "b2"}) {
		t.Errorf("tenant b's transaction reads %v, want [b1 b2]", got)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO notes VALUES ('b', 'b3')"); err != nil {
		t.Fatal(err)
	}
	// Row-level security refuses another tenant's row.
	if _, err := tx.ExecContext(ctx, "INSERT INTO notes VALUES ('a', 'a9')"); err == nil {
		t.Error("tenant b inserted a row of tenant a")
	}
	_ = tx.Rollback()
	if got := strings1(t, bg, db, "SELECT coalesce(current_setting('app.tenant_id', true), '')"); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("app.tenant_id after the transaction = %v, want empty", got)
	}

	// A request is met once, and never by a read-only transaction or one of
	// another isolation: those begin as usual, with nothing set.
	for _, tc := range []struct {
		name string
		opts *sql.TxOptions
		used bool
	}{
		{"read-only", &sql.TxOptions{ReadOnly: true}, false},
		{"serializable", &sql.TxOptions{Isolation: sql.LevelSerializable}, false},
		{"already met", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, begin := tenantconn.WithBegin(bg, tenantconn.Scope{Tenant: "a"})
			if tc.used {
				first, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := first.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			tx, err := db.BeginTx(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			if begin.Began() != tc.used {
				t.Errorf("Began() = %v, want %v", begin.Began(), tc.used)
			}
			if got := strings1(t, ctx, tx, "SELECT coalesce(current_setting('app.tenant_id', true), '')"); !reflect.DeepEqual(got, []string{""}) {
				t.Errorf("app.tenant_id = %v, want empty", got)
			}
		})
	}
	// The caller's own statement covers a transaction that was not begun
	// with the scope: SetScopeSQL takes the values as parameters.
	tx, err = db.BeginTx(bg, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(bg, tenantconn.SetScopeSQL, "a", ""); err != nil {
		t.Fatal(err)
	}
	if got := strings1(t, bg, tx, "SELECT body FROM notes ORDER BY body"); !reflect.DeepEqual(got, []string{"a1", "a2"}) {
		t.Errorf("after SetScopeSQL tenant a reads %v, want [a1 a2]", got)
	}
}

func TestQuery_PgxRows(t *testing.T) {
	t.Parallel()
	db := notesDB(t)
	bg := context.Background()
	var got []string
	err := tenantconn.Query(bg, db, tenantconn.Scope{Tenant: "a"}, "SELECT body FROM notes WHERE body <> $1 ORDER BY body", []any{"zz"}, func(rows pgx.Rows) error {
		var err error
		got, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"a1", "a2"}) {
		t.Errorf("Query as tenant a = %v, want [a1 a2]", got)
	}
	// An error of fn or of the query is returned; the connection stays usable.
	boom := errors.New("boom")
	if err := tenantconn.Query(bg, db, tenantconn.Scope{Tenant: "a"}, "SELECT body FROM notes", nil, func(pgx.Rows) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("fn's error: err = %v, want boom", err)
	}
	if err := tenantconn.Query(bg, db, tenantconn.Scope{Tenant: "a"}, "SELECT nope FROM notes", nil, func(pgx.Rows) error { return nil }); err == nil {
		t.Error("a bad query succeeded")
	}
	if got := strings1(t, bg, db, "SELECT coalesce(current_setting('app.tenant_id', true), '')"); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("app.tenant_id after Query = %v, want empty", got)
	}
	// A pool that is not this package's is refused, not used unscoped.
	other, err := sql.Open("pgx", "postgres://127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	if err := tenantconn.Query(bg, other, tenantconn.Scope{Tenant: "a"}, "SELECT 1", nil, func(pgx.Rows) error { return nil }); err == nil {
		t.Error("Query on another pool succeeded")
	}
}

// TestQueryAll_StatementsInOneScope runs several statements in one read:
// each reads its own rows in the scope, an error stops the read and is
// returned, and nothing of the scope is left on the connection.
func TestQueryAll_StatementsInOneScope(t *testing.T) {
	t.Parallel()
	db := notesDB(t) // one connection
	bg := context.Background()
	var bodies []string
	var count int64
	var tenant string
	err := tenantconn.QueryAll(bg, db, tenantconn.Scope{Tenant: "b"},
		tenantconn.Statement{SQL: "SELECT body FROM notes WHERE body <> $1 ORDER BY body", Args: []any{"zz"}, Rows: func(rows pgx.Rows) error {
			var err error
			bodies, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}},
		tenantconn.Statement{SQL: "SELECT count(*) FROM notes", Rows: func(rows pgx.Rows) error {
			var err error
			count, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int64])
			return err
		}},
		tenantconn.Statement{SQL: "SELECT current_setting('app.tenant_id')", Rows: func(rows pgx.Rows) error {
			var err error
			tenant, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
			return err
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bodies, []string{"b1", "b2"}) || count != 2 || tenant != "b" {
		t.Errorf("QueryAll as tenant b: bodies %v, count %d, tenant %q; want [b1 b2], 2, b", bodies, count, tenant)
	}
	// A failing statement's error comes back; the statement after it never
	// hands its rows over; the connection stays usable.
	ran := false
	err = tenantconn.QueryAll(bg, db, tenantconn.Scope{Tenant: "b"},
		tenantconn.Statement{SQL: "SELECT nope FROM notes", Rows: func(pgx.Rows) error { return nil }},
		tenantconn.Statement{SQL: "SELECT 1", Rows: func(pgx.Rows) error { ran = true; return nil }},
	)
	if err == nil || ran {
		t.Errorf("a failing first statement: err = %v, second read %v; want an error and no second read", err, ran)
	}
	boom := errors.New("boom")
	if err := tenantconn.QueryAll(bg, db, tenantconn.Scope{Tenant: "b"},
		tenantconn.Statement{SQL: "SELECT 1", Rows: func(pgx.Rows) error { return boom }},
		tenantconn.Statement{SQL: "SELECT 2", Rows: func(pgx.Rows) error { return nil }},
	); !errors.Is(err, boom) {
		t.Errorf("a reader's error: err = %v, want boom", err)
	}
	if got := strings1(t, bg, db, "SELECT coalesce(current_setting('app.tenant_id', true), '')"); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("app.tenant_id after QueryAll = %v, want empty", got)
	}
}

// TestQuery_GenericPlan holds a read with GenericPlan to its scope (the
// same rows) and to its extent: the query runs with plan_cache_mode
// force_generic_plan, and the pooled connection is back to the default
// afterwards, for reads without it and for transactions.
func TestQuery_GenericPlan(t *testing.T) {
	t.Parallel()
	db := notesDB(t) // one connection: every statement below shares it
	bg := context.Background()
	read := func(sc tenantconn.Scope, query string) []string {
		t.Helper()
		var got []string
		err := tenantconn.Query(bg, db, sc, query, nil, func(rows pgx.Rows) error {
			var err error
			got, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	generic := tenantconn.Scope{Tenant: "b", GenericPlan: true}
	if got := read(generic, "SELECT body FROM notes ORDER BY body"); !reflect.DeepEqual(got, []string{"b1", "b2"}) {
		t.Errorf("generic-plan read as tenant b = %v, want [b1 b2]", got)
	}
	if got := read(generic, "SELECT current_setting('plan_cache_mode')"); !reflect.DeepEqual(got, []string{"force_generic_plan"}) {
		t.Errorf("plan_cache_mode in a generic-plan read = %v, want force_generic_plan", got)
	}
	if got := read(tenantconn.Scope{Tenant: "b"}, "SELECT current_setting('plan_cache_mode')"); !reflect.DeepEqual(got, []string{"auto"}) {
		t.Errorf("plan_cache_mode in the next read = %v, want auto", got)
	}
	if got := strings1(t, bg, db, "SELECT current_setting('plan_cache_mode') || ' ' || coalesce(current_setting('app.tenant_id', true), '')"); !reflect.DeepEqual(got, []string{"auto "}) {
		t.Errorf("plan_cache_mode and tenant on the connection afterwards = %q, want \"auto \"", got)
	}
}

// TestRead_SameValuesAsStdlib reads one row of every kind of column through
// the pipeline and through pgx's own database/sql driver: database/sql must
// receive the same values either way.
func TestRead_SameValuesAsStdlib(t *testing.T) {
	t.Parallel()
	d := testdb.Shared(t)
	piped, err := tenantconn.Open(d.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = piped.Close() }()
	stock, err := sql.Open("pgx", d.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stock.Close() }()
	const query = `SELECT true, 2::int2, 4::int4, 8::int8, 1.5::float4, 2.25::float8, 'é'::text, '\x0102'::bytea,
		'{"a": 1}'::json, '{"b": [2]}'::jsonb, '2026-01-02'::date, '2026-01-02 03:04:05.123456'::timestamp,
		'2026-01-02 03:04:05.123456+02'::timestamptz, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 12.345::numeric,
		NULL::text, 7::oid, $1::text`
	readRow := func(ctx context.Context, db *sql.DB) ([]any, []string) {
		t.Helper()
		rows, err := db.QueryContext(ctx, query, "arg")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		types, err := rows.ColumnTypes()
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(types))
		for i, ct := range types {
			names[i] = ct.DatabaseTypeName()
		}
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		return vals, names
	}
	gotVals, gotTypes := readRow(tenantconn.WithRead(context.Background(), tenantconn.Scope{Tenant: "values"}), piped)
	wantVals, wantTypes := readRow(context.Background(), stock)
	if !reflect.DeepEqual(gotTypes, wantTypes) {
		t.Errorf("column types through the pipeline %v, through stdlib %v", gotTypes, wantTypes)
	}
	for i := range wantVals {
		if !reflect.DeepEqual(gotVals[i], wantVals[i]) {
			t.Errorf("column %d (%s): %#v through the pipeline, %#v through stdlib", i+1, wantTypes[i], gotVals[i], wantVals[i])
		}
	}
}

func TestDollarize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"SELECT 1", "SELECT 1"},
		{"a = ?", "a = $1"},
		{"a = ? AND b IN (?, ?) AND c = 'é'", "a = $1 AND b IN ($2, $3) AND c = 'é'"},
		{"??????????", "$1$2$3$4$5$6$7$8$9$10"},
	} {
		if got := tenantconn.Dollarize(tc.in); got != tc.want {
			t.Errorf("Dollarize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestQueryRow_OneRowInScope holds QueryRow, the protocol-level read of one
// row, to what Query gives: the scope in force and row-level security on
// raw SQL, NULLs and several types scanned, errors returned with the
// connection usable after them, nothing left on the connection, and a
// statement prepared before a schema change read again after it.
func TestQueryRow_OneRowInScope(t *testing.T) {
	t.Parallel()
	db, ownerURL := notesDBOwned(t) // one connection: every read below shares it
	bg := context.Background()
	row := func(sc tenantconn.Scope, query string, args []any, dest ...any) bool {
		t.Helper()
		found, err := tenantconn.QueryRow(bg, db, sc, query, args, dest...)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return found
	}
	a, b := tenantconn.Scope{Tenant: "a"}, tenantconn.Scope{Tenant: "b"}
	const byBody = "SELECT body, tenant FROM notes WHERE body = $1"
	var body, tenant string
	if !row(a, byBody, []any{"a1"}, &body, &tenant) || body != "a1" || tenant != "a" {
		t.Errorf("a1 as tenant a = %q, %q; want a1, a", body, tenant)
	}
	for _, tc := range []struct {
		scope tenantconn.Scope
		body  string
	}{{b, "a1"}, {a, "b2"}, {tenantconn.Scope{}, "a1"}, {tenantconn.Scope{Tenant: "a' OR true --"}, "a1"}} {
		if row(tc.scope, byBody, []any{tc.body}, &body, &tenant) {
			t.Errorf("%s read in scope %+v: found %q of %q", tc.body, tc.scope, body, tenant)
		}
	}
	// Several types, a NULL, and the first of several rows.
	var (
		n     int64
		null  *string
		when  time.Time
		first string
	)
	if !row(b, "SELECT count(*) OVER (), NULL::text, now(), body FROM notes ORDER BY body", nil, &n, &null, &when, &first) ||
		n != 2 || null != nil || when.IsZero() || first != "b1" {
		t.Errorf("count, NULL, now, first body as tenant b = %d, %v, %v, %q; want 2, nil, now, b1", n, null, when, first)
	}
	var setting, mode string
	if !row(tenantconn.Scope{Tenant: "b", GenericPlan: true}, "SELECT current_setting('app.tenant_id'), current_setting('plan_cache_mode')", nil, &setting, &mode) ||
		setting != "b" || mode != "force_generic_plan" {
		t.Errorf("settings in a generic-plan read = %q, %q; want b, force_generic_plan", setting, mode)
	}
	// Errors come back; the connection stays usable.
	for name, call := range map[string]func() error{
		"bad query": func() error {
			_, err := tenantconn.QueryRow(bg, db, a, "SELECT nope FROM notes", nil, &body)
			return err
		},
		"too few dests": func() error { _, err := tenantconn.QueryRow(bg, db, a, byBody, []any{"a1"}, &body); return err },
		"bad arg": func() error {
			_, err := tenantconn.QueryRow(bg, db, a, "SELECT body FROM notes WHERE tenant = $1", []any{make(chan int)}, &body)
			return err
		},
		"scan text into int": func() error { _, err := tenantconn.QueryRow(bg, db, a, byBody, []any{"a1"}, &n, &tenant); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if !row(a, byBody, []any{"a2"}, &body, &tenant) || body != "a2" {
			t.Errorf("after %s: a2 as tenant a = %q", name, body)
		}
	}
	if got := strings1(t, bg, db, "SELECT coalesce(current_setting('app.tenant_id', true), '')"); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("app.tenant_id after QueryRow = %v, want empty", got)
	}
	// A schema change under the prepared statement: the read prepares it
	// afresh instead of failing.
	const star = "SELECT * FROM notes WHERE body = $1"
	if !row(a, star, []any{"a1"}, &tenant, &body) {
		t.Fatal("a1 by * not found")
	}
	owner, err := sql.Open("pgx", ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	if _, err := owner.ExecContext(bg, "ALTER TABLE notes ALTER COLUMN body TYPE varchar(20)"); err != nil {
		t.Fatal(err)
	}
	if !row(a, star, []any{"a1"}, &tenant, &body) || body != "a1" {
		t.Errorf("a1 by * after the column's type changed = %q", body)
	}
	// A pool that is not this package's is refused, not used unscoped.
	other, err := sql.Open("pgx", "postgres://127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	if _, err := tenantconn.QueryRow(bg, other, a, "SELECT 1", nil, &n); err == nil {
		t.Error("QueryRow on another pool succeeded")
	}
}
