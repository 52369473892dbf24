package repository

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository/tenantconn"
)

// The asset reads that pgx itself answers on PostgreSQL outside a
// transaction: the point read (the hottest read of the API) and the rows of
// a lineage walk. Each is one statement in the tenant pipeline (one round
// trip, one implicit transaction with the tenant set: tenantconn.QueryRow
// for the point reads, tenantconn.Query for the walk), decoded from pgx's
// binary rows without GORM or database/sql. The
// statements name the tenant as well as row-level security filtering them:
// this is raw SQL, which the tenancy callbacks do not rewrite. Elsewhere
// (SQLite, a transaction, the system scope) the same reads go through GORM.

// assetCols are the columns of an asset, in the order assetScan reads them.
const assetCols = "id, tenant_id, name, description, asset_type, owner, tags, compute, partitions, created_at, updated_at"

// assetGetSQL reads asset $2 when tenant $1 can see it: its own or a
// global one.
const assetGetSQL = "SELECT " + assetCols + " FROM assets WHERE id = $2 AND (tenant_id = $1 OR tenant_id IS NULL)"

// assetScan decodes rows of assetCols; one value serves every row of an
// answer.
type assetScan struct {
	id               uuidCol
	tenant           sharedText
	name, desc, typ  string
	owner            string
	tags             stringList
	compute          jsonObject[domain.ComputeSpec]
	partitions       jsonObject[domain.PartitionsDef]
	created, updated flexTime
	dest             []any
}

// newAssetScan returns a scanner for the rows tenant can see: its id, read
// in every own row, is shared by them.
func newAssetScan(tenant string) *assetScan {
	a := &assetScan{}
	a.tenant.shared = tenant
	a.dest = []any{&a.id, &a.tenant, &a.name, &a.desc, &a.typ, &a.owner, &a.tags, &a.compute, &a.partitions, &a.created, &a.updated}
	return a
}

// scan decodes the current row.
func (a *assetScan) scan(rows pgx.Rows) (domain.Asset, error) {
	a.tags = nil
	if err := rows.Scan(a.dest...); err != nil {
		return domain.Asset{}, err
	}
	return a.asset(), nil
}

// asset returns the asset of the row scanned into a.dest.
func (a *assetScan) asset() domain.Asset {
	tags := []string(a.tags)
	if tags == nil {
		tags = []string{}
	}
	return domain.Asset{
		ID: a.id.u, TenantID: a.tenant.ptr(), Name: a.name, Description: a.desc, AssetType: a.typ, Owner: a.owner,
		Tags: tags, Compute: a.compute.V, Partitions: a.partitions.V,
		CreatedAt: a.created.t.UTC(), UpdatedAt: a.updated.t.UTC(),
	}
}

// tenantPgxRead returns the tenant a read of ctx runs in when pgx itself
// answers it (pgxReads, in a tenant's scope, over all the rows it can see),
// and whether it does.
func (s *Store) tenantPgxRead(ctx context.Context) (string, bool) {
	if !s.pgxReads(ctx) || rowSetFrom(ctx) != rowsAll {
		return "", false
	}
	scope, err := domain.ScopeFrom(ctx)
	if err != nil || scope.IsSystem() {
		return "", false
	}
	return scope.TenantID(), true
}

// assetGetPgx is AssetGet for tenant through pgx.
func (s *Store) assetGetPgx(ctx context.Context, tenant string, id uuid.UUID) (*domain.Asset, error) {
	countRead(ctx)
	sc := newAssetScan(tenant)
	// The id goes as its 16 bytes: a uuid.UUID would be sent through its
	// text form, which pgx first fails to encode as a uuid.
	found, err := tenantconn.QueryRow(ctx, s.sqlDB, tenantconn.Scope{Tenant: tenant}, assetGetSQL, []any{tenant, [16]byte(id)}, sc.dest...)
	if err != nil {
		return nil, translate(fmt.Errorf("asset: %w", err))
	}
	if !found {
		return nil, errNotFound("asset")
	}
	out := sc.asset()
	return &out, nil
}

// assetFreshnessGetSQL reads asset $2 as assetGetSQL does, and the
// freshness tenant $1 recorded for it, when it is tenant $1's own: a global
// asset carries none.
var assetFreshnessGetSQL = "SELECT a." + strings.ReplaceAll(assetCols, ", ", ", a.") +
	", f.asset_id IS NOT NULL, f.policy, f.last_materialized_at, f.stale_after" +
	" FROM assets a LEFT JOIN asset_freshness f ON f.asset_id = a.id AND f.tenant_id = $1 AND a.tenant_id = $1" +
	" WHERE a.id = $2 AND (a.tenant_id = $1 OR a.tenant_id IS NULL)"

// assetWithFreshnessPgx is AssetWithFreshness for tenant through pgx: one
// statement, one round trip.
func (s *Store) assetWithFreshnessPgx(ctx context.Context, tenant string, id uuid.UUID) (*domain.Asset, *domain.AssetFreshness, error) {
	var (
		fresh       *domain.AssetFreshness
		hasFresh    bool
		policy      jsonObject[domain.FreshnessPolicy]
		last, stale *time.Time
	)
	countRead(ctx)
	sc := newAssetScan(tenant)
	sc.dest = append(sc.dest, &hasFresh, &policy, &last, &stale)
	found, err := tenantconn.QueryRow(ctx, s.sqlDB, tenantconn.Scope{Tenant: tenant}, assetFreshnessGetSQL, []any{tenant, [16]byte(id)}, sc.dest...)
	if err != nil {
		return nil, nil, translate(fmt.Errorf("asset: %w", err))
	}
	if !found {
		return nil, nil, errNotFound("asset")
	}
	out := sc.asset()
	if hasFresh {
		fresh = &domain.AssetFreshness{AssetID: out.ID, TenantID: tenant, Policy: policy.V,
			LastMaterializedAt: utcPtr(last), StaleAfter: utcPtr(stale)}
	}
	return &out, fresh, nil
}
