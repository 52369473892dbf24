// Package tenantconn is a database/sql pool over pgx whose connections
// carry the tenant context of row-level security in the same round trip as
// the work it covers: a transaction sets it with its BEGIN (begin.go), a
// read outside a transaction sends it in one pipeline with the query
// (read.go). The settings are transaction-local either way, so nothing is
// left on a pooled connection.
//
// The repository opens its PostgreSQL pool here unless told to keep pgx's
// stock pool; this package knows nothing of the repository or the domain.
package tenantconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// SetScopeSQL sets app.tenant_id ($1) and app.system ($2) for the rest of
// the current transaction. It is the one statement that sets the tenant
// context: a transaction's BEGIN carries it with literal values, a read's
// pipeline sends it with parameters, and a transaction on a connection of
// another pool runs it as its first statement.
const SetScopeSQL = "SELECT set_config('app.tenant_id', $1, true), set_config('app.system', $2, true)"

// setScopeGenericSQL is SetScopeSQL that also has PostgreSQL plan the
// statements after it in the transaction generically (see
// Scope.GenericPlan).
const setScopeGenericSQL = "SELECT set_config('app.tenant_id', $1, true), set_config('app.system', $2, true), set_config('plan_cache_mode', 'force_generic_plan', true)"

// Scope holds the values of the settings: Tenant is the tenant id, empty
// for none; System is "on" for the system scope, empty otherwise.
type Scope struct {
	Tenant, System string
	// GenericPlan, on a read's pipeline, has PostgreSQL run the query's
	// prepared statement on its generic plan, planned once per connection,
	// instead of planning it afresh for its values on every run: for a
	// query whose plan cannot depend on them (a LIMIT over an index range
	// of the tenant), where planning costs more than running it. It is not
	// a tenancy setting and ends with the read.
	GenericPlan bool
}

// Open opens a database/sql pool over pgx for the PostgreSQL URL whose
// connections honor the contexts of WithBegin and WithRead and serve
// Query.
func Open(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector{base: stdlib.GetConnector(*cfg)}), nil
}

type connector struct{ base driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if sc, ok := conn.(*stdlib.Conn); ok {
		return &scopedConn{Conn: sc}, nil
	}
	return conn, nil
}

func (c connector) Driver() driver.Driver { return c.base.Driver() }

// scopedConn is a pgx connection (every method and optional interface of
// stdlib.Conn, promoted) whose BeginTx honors WithBegin and whose queries
// honor WithRead. It keeps what QueryRow prepared on it; database/sql hands
// a connection to one goroutine at a time.
type scopedConn struct {
	*stdlib.Conn
	eqb  pgx.ExtendedQueryBuilder
	rows map[string]*rowStatement
}

// Dollarize numbers the ? placeholders of query as $1, $2, ...; query
// holds no other question marks.
func Dollarize(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 64)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
