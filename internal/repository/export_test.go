package repository

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/servo-data/servo/internal/domain"

	"github.com/servo-data/servo/internal/repository/tenantconn"
)

// ReadContext returns ctx marked as a read outside a transaction in the
// given tenant, as Store.read marks it, for tests that send raw SQL through
// the pool the way the store's reads go.
func ReadContext(ctx context.Context, tenant string) context.Context {
	return tenantconn.WithRead(ctx, tenantconn.Scope{Tenant: tenant})
}

// Translate is the store's one translation of database errors into domain
// errors, for its table tests.
var Translate = translate

// AssetGetSQL is the statement of the point read on pgx's own path.
const AssetGetSQL = assetGetSQL

// AssetListPageSQL returns the statement of tenant's page p of the assets
// matching f on pgx's own path, and its values from $3 on.
func AssetListPageSQL(tenant string, f domain.AssetFilter, p domain.Page) (string, []any) {
	q := buildAssetListSQL(tenant, f, p)
	return q.page, q.args
}

// PgxReadCount runs query through the store's pgx path in tenant's scope
// (one pipeline with the tenant context) and returns how many rows it
// answered.
func PgxReadCount(ctx context.Context, s *Store, tenant, query string, args ...any) (int, error) {
	n := 0
	err := s.pgxRead(ctx, tenantconn.Scope{Tenant: tenant}, query, args, func(rows pgx.Rows) error {
		for rows.Next() {
			n++
		}
		return rows.Err()
	})
	return n, err
}

// PgxReadText runs query through the store's pgx path in tenant's scope and
// returns the first column of each row as text.
func PgxReadText(ctx context.Context, s *Store, tenant, query string, args ...any) ([]string, error) {
	var out []string
	err := s.pgxRead(ctx, tenantconn.Scope{Tenant: tenant}, query, args, func(rows pgx.Rows) error {
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}
