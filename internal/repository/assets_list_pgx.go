package repository

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository/tenantconn"
)

// A tenant's page of assets with their freshness, through pgx: the list the
// catalog answers most (GET /assets). Like the point read it is one
// statement in the tenant pipeline, decoded from pgx's binary rows; the
// tenant's own rows and the global rows are read apart, each a range scan
// of the (tenant_id, created_at DESC, id DESC) index, and merged, as
// assetPageMerged does through GORM. Counting (totalOf) shares the count
// cache with that path.

// assetListSQL holds the statements of a tenant's page of assets for one
// filter: the page, the two parts and their freshness in one statement ($1
// the tenant, $2 the rows each part reads, the page and one more; the
// filter's and cursor's values from $3), and the statements that count each
// part (see assetCountSQL).
type assetListSQL struct {
	page  string
	args  []any // the page's values from $3 on
	count [2]assetCountSQL
}

// assetCountSQL counts one part of the listing, up to a limit or, with a
// NULL limit, every row (LIMIT NULL is no limit). The limit is the first
// value after lead (the tenant, for the tenant's own rows), the filter's
// values follow.
type assetCountSQL struct {
	sql  string
	lead []any
	args []any
}

// assetConds writes f's conditions, and those of cursor c when not nil, as
// PostgreSQL text whose placeholders start at $first, with their values:
// the conditions of assetFilter and keyset, for the part of the listing
// whose tags' tenant condition is tagTenant (on asset_tags t).
//
// The name prefix and the tag are written so that row-level security lets
// PostgreSQL use an index for them: starts_with and text equality are
// leakproof, LIKE and jsonb containment are not (see assetFilter and
// migration 0014).
func assetConds(f domain.AssetFilter, c *domain.Cursor, first int, tagTenant string) (string, []any) {
	var (
		cond strings.Builder
		args []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(first+len(args)-1)
	}
	if f.AssetType != "" {
		cond.WriteString(" AND asset_type = " + arg(f.AssetType))
	}
	if f.Owner != "" {
		cond.WriteString(" AND owner = " + arg(f.Owner))
	}
	if f.NamePrefix != "" {
		cond.WriteString(" AND starts_with(name, " + arg(f.NamePrefix) + ")")
	}
	if f.Tag != "" {
		cond.WriteString(" AND EXISTS (SELECT 1 FROM asset_tags t WHERE " + tagTenant +
			" AND t.tag = " + arg(f.Tag) + " AND t.asset_id = assets.id)")
	}
	if c != nil {
		// The id goes as its 16 bytes (see assetGetPgx).
		cond.WriteString(" AND (created_at, id) < (" + arg(c.CreatedAt) + ", " + arg([16]byte(c.ID)) + ")")
	}
	return cond.String(), args
}

// The two parts of a tenant's listing: its own rows and the global rows,
// with the tenant condition of each on assets and on asset_tags.
var assetParts = [2]struct{ where, tags string }{
	{"tenant_id = $1", "t.tenant_id = $1"},
	{"tenant_id IS NULL", "t.tenant_id IS NULL"},
}

// buildAssetListSQL writes the statements of tenant's page p of the assets
// matching f. The statements name the tenant as well as row-level security
// filtering the rows: raw SQL is not rewritten by the tenancy callbacks.
func buildAssetListSQL(tenant string, f domain.AssetFilter, p domain.Page) assetListSQL {
	var (
		out   assetListSQL
		parts [2]string
	)
	for i, part := range assetParts {
		var cond string
		cond, out.args = assetConds(f, p.Cursor, 3, part.tags)
		parts[i] = "(SELECT " + assetCols + " FROM assets WHERE " + part.where + cond +
			" ORDER BY created_at DESC, id DESC LIMIT $2)"
	}
	out.page = "SELECT a." + strings.ReplaceAll(assetCols, ", ", ", a.") +
		", f.asset_id IS NOT NULL, f.policy, f.last_materialized_at, f.stale_after" +
		" FROM (" + parts[0] + " UNION ALL " + parts[1] + ") AS a" +
		" LEFT JOIN asset_freshness f ON f.asset_id = a.id AND f.tenant_id = $1 AND a.tenant_id = $1" +
		" ORDER BY a.created_at DESC, a.id DESC"
	for i, part := range assetParts {
		var lead []any
		if i == 0 {
			lead = []any{tenant}
		}
		first := len(lead) + 2
		cond, args := assetConds(f, nil, first, part.tags)
		out.count[i] = assetCountSQL{
			sql:  "SELECT count(*) FROM (SELECT 1 FROM assets WHERE " + part.where + cond + " LIMIT $" + strconv.Itoa(first-1) + ") AS counted",
			lead: lead, args: args,
		}
	}
	return out
}

// assetListPgx is AssetListWithFreshness for tenant's first or keyset page
// (p.Offset is 0) through pgx.
func (s *Store) assetListPgx(ctx context.Context, tenant string, f domain.AssetFilter, p domain.Page) (domain.List[domain.Asset], []domain.AssetFreshness, error) {
	q := buildAssetListSQL(tenant, f, p)
	var (
		items []domain.Asset
		fresh []domain.AssetFreshness
		got   [2]int // rows read of the tenant's own, of the global
	)
	countRead(ctx)
	sc := tenantconn.Scope{Tenant: tenant}
	var (
		keys   [2]string
		counts [2]*pgxCount
	)
	for i, rs := range []rowSet{rowsOwn, rowsGlobal} {
		var err error
		if keys[i], err = scopedListKey(ctx, rs, listKey("assets", f)); err != nil {
			return domain.List[domain.Asset]{}, nil, err
		}
		counts[i] = &pgxCount{s: s, ctx: ctx, sc: sc, q: q.count[i]}
	}
	readPage := func(rows pgx.Rows) error {
		var (
			hasFresh    bool
			policy      jsonObject[domain.FreshnessPolicy]
			last, stale *time.Time
		)
		scan := newAssetScan(tenant)
		scan.dest = append(scan.dest, &hasFresh, &policy, &last, &stale)
		items = make([]domain.Asset, 0, 2*(p.Limit+1))
		for rows.Next() {
			a, err := scan.scan(rows)
			if err != nil {
				return err
			}
			items = append(items, a)
			if a.TenantID == nil {
				got[1]++
				continue
			}
			got[0]++
			if hasFresh {
				fresh = append(fresh, domain.AssetFreshness{AssetID: a.ID, TenantID: tenant, Policy: policy.V,
					LastMaterializedAt: utcPtr(last), StaleAfter: utcPtr(stale)})
			}
		}
		return rows.Err()
	}
	stmts := []tenantconn.Statement{{SQL: q.page, Args: append([]any{tenant, p.Limit + 1}, q.args...), Rows: readPage}}
	if p.Cursor != nil {
		// A cursor page never proves its total (totalOf): each part whose
		// count the cache does not answer is counted in the same round
		// trip as the page, as totalOf will ask.
		for i, c := range counts {
			switch {
			case p.Count == domain.CountExact:
				stmts = append(stmts, c.prefetch(nil))
			case !s.counts.answers(keys[i], domain.TotalBound):
				stmts = append(stmts, c.prefetch(int64(domain.TotalBound+1)))
			}
		}
	}
	// Planned for its values, the unfiltered page costs PostgreSQL about
	// 0.25 ms of planning (row-level security's quals on both parts) for
	// 0.05 ms of work, on every run; its generic plan is the same index
	// ranges and LIMITs, and the counts' the same ranges. So is the plan of
	// a page by type or owner (their indexes hold the list's order after
	// the value). A name prefix or a tag is left to a plan for its value:
	// how many rows it matches decides between the list's index and the
	// filter's.
	read := sc
	read.GenericPlan = f.NamePrefix == "" && f.Tag == ""
	if err := s.pgxReadAll(ctx, read, stmts...); err != nil {
		return domain.List[domain.Asset]{}, nil, translate(fmt.Errorf("assets: %w", err))
	}
	var total listTotal
	for i, c := range counts {
		t, err := s.totalOf(c, keys[i], p, min(got[i], p.Limit), got[i] > p.Limit)
		if err != nil {
			return domain.List[domain.Asset]{}, nil, err
		}
		total.n += t.n
		total.estimate = total.estimate || t.estimate
	}
	out := domain.List[domain.Asset]{Items: items, Total: total.n, TotalIsEstimate: total.estimate, Limit: p.Limit}
	if len(items) > p.Limit {
		out.Items = items[:p.Limit]
		last := items[p.Limit-1]
		out.NextCursor = &domain.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		fresh = freshnessOfPage(fresh, out.Items)
	}
	return out, fresh, nil
}

// freshnessOfPage keeps the records of fresh whose asset is on the page.
func freshnessOfPage(fresh []domain.AssetFreshness, page []domain.Asset) []domain.AssetFreshness {
	if len(fresh) == 0 {
		return fresh
	}
	on := make(map[[16]byte]bool, len(page))
	for i := range page {
		on[page[i].ID] = true
	}
	kept := fresh[:0]
	for _, f := range fresh {
		if on[f.AssetID] {
			kept = append(kept, f)
		}
	}
	return kept
}

// pgxCount counts one part of a tenant's asset listing through pgx. A
// count prefetched with the page answers the first call that asks for it.
type pgxCount struct {
	s   *Store
	ctx context.Context
	sc  tenantconn.Scope
	q   assetCountSQL

	pre      *int64 // the prefetched count, nil when none
	preLimit any    // its limit: an int64, or nil for every row
}

func (c *pgxCount) countAll() (int64, error) { return c.count(nil) }

func (c *pgxCount) countUpTo(limit int64) (int64, error) { return c.count(limit) }

// args returns the count statement's values for limit, nil for no limit.
func (c *pgxCount) args(limit any) []any {
	args := make([]any, 0, len(c.q.lead)+1+len(c.q.args))
	return append(append(append(args, c.q.lead...), limit), c.q.args...)
}

// prefetch returns the count statement with limit, to send with the page,
// whose answer the call of count with the same limit takes.
func (c *pgxCount) prefetch(limit any) tenantconn.Statement {
	countRead(c.ctx)
	c.pre, c.preLimit = new(int64), limit
	n := c.pre
	return tenantconn.Statement{SQL: c.q.sql, Args: c.args(limit), Rows: func(rows pgx.Rows) error { return scanCount(rows, n) }}
}

// count runs the count statement with limit, nil for no limit, unless it
// was prefetched.
func (c *pgxCount) count(limit any) (int64, error) {
	if c.pre != nil && c.preLimit == limit {
		n := *c.pre
		c.pre = nil
		return n, nil
	}
	countRead(c.ctx)
	var n int64
	err := c.s.pgxRead(c.ctx, c.sc, c.q.sql, c.args(limit), func(rows pgx.Rows) error { return scanCount(rows, &n) })
	if err != nil {
		return 0, translate(fmt.Errorf("assets: count: %w", err))
	}
	return n, nil
}

// scanCount reads the one row of a count into n.
func scanCount(rows pgx.Rows, n *int64) error {
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errors.New("count: no row")
	}
	return rows.Scan(n)
}
