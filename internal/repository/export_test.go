package repository

import (
	"context"

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
