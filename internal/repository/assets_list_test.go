package repository_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// listFixture is a database of its own (global rows are shared by every
// tenant, so another test's would change the listing between two reads)
// with two tenants holding assets of the same names, types, owners and
// tags, global assets, and freshness recorded for some of tenant A's.
type listFixture struct {
	d         *testdb.Database
	st        *repository.Store
	a, b      string
	own       map[uuid.UUID]bool // tenant A's assets
	other     map[uuid.UUID]bool // tenant B's assets
	global    map[uuid.UUID]bool
	freshness map[uuid.UUID]bool // tenant A's assets with freshness recorded
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	ctx := context.Background()
	d, err := testdb.Create(ctx)
	if err == nil {
		err = d.Migrate(ctx)
	}
	if err != nil {
		t.Fatalf("list database: %v", err)
	}
	t.Cleanup(d.Drop)
	st := testdb.Open(t, d)
	svc := service.New(st, nil, nil)
	f := &listFixture{d: d, st: st, a: testdb.TenantID("list-a"), b: testdb.TenantID("list-b"),
		own: map[uuid.UUID]bool{}, other: map[uuid.UUID]bool{}, global: map[uuid.UUID]bool{}, freshness: map[uuid.UUID]bool{}}
	inputs := []service.CreateAssetInput{
		{Name: "sales_orders", AssetType: "table", Owner: "sales@example.com", Tags: []string{"pii", "daily"}},
		{Name: "sales_items", AssetType: "table", Owner: "sales@example.com", Tags: []string{"daily"}},
		{Name: "salesforce_dump", AssetType: "file", Owner: "crm@example.com"},
		{Name: "ops_log", AssetType: "file", Owner: "ops@example.com", Tags: []string{"pii"}},
		{Name: "x_%_literal", AssetType: "model", Owner: "ml@example.com"},
		{Name: "xa_literal", AssetType: "model", Owner: "ml@example.com"},
		{Name: "churn", AssetType: "model", Owner: "ml@example.com", Tags: []string{"daily"}},
	}
	for _, tenant := range []struct {
		id   string
		into map[uuid.UUID]bool
	}{{f.a, f.own}, {f.b, f.other}} {
		if _, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: tenant.id, Name: tenant.id}); err != nil {
			t.Fatal(err)
		}
		tctx := domain.WithTenant(ctx, tenant.id)
		for _, in := range inputs {
			a, err := svc.CreateAsset(tctx, in)
			if err != nil {
				t.Fatalf("create %s: %v", in.Name, err)
			}
			tenant.into[a.ID] = true
		}
	}
	for _, in := range []service.CreateAssetInput{
		{Name: "sales_reference", AssetType: "table", Owner: "sales@example.com", Tags: []string{"pii"}, Global: true},
		{Name: "calendar", AssetType: "table", Owner: "platform@example.com", Global: true},
	} {
		a, err := svc.CreateAsset(domain.WithSystem(ctx), in)
		if err != nil {
			t.Fatal(err)
		}
		f.global[a.ID] = true
	}
	// Freshness recorded for some of tenant A's assets and for all of
	// tenant B's: B's records must never come back to A.
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ids := slices.SortedFunc(keys(f.own), func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
	for i, id := range ids {
		if i%2 == 1 {
			continue
		}
		f.freshness[id] = true
		recordFreshness(t, st, f.a, id, now.Add(time.Duration(i)*time.Minute))
	}
	for id := range f.other {
		recordFreshness(t, st, f.b, id, now)
	}
	return f
}

func keys(m map[uuid.UUID]bool) func(func(uuid.UUID) bool) {
	return func(yield func(uuid.UUID) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func recordFreshness(t *testing.T, st *repository.Store, tenant string, id uuid.UUID, at time.Time) {
	t.Helper()
	_, err := st.FreshnessUpdate(domain.WithTenant(context.Background(), tenant), id, func(f *domain.AssetFreshness) error {
		f.Policy = &domain.FreshnessPolicy{MaxAge: "1h"}
		f.LastMaterializedAt = &at
		stale := at.Add(time.Hour)
		f.StaleAfter = &stale
		return nil
	})
	if err != nil {
		t.Fatalf("record freshness: %v", err)
	}
}

// listPage is one page as a test compares it.
type listPage struct {
	list   domain.List[domain.Asset]
	cursor string                  // the next page's cursor, encoded as the API sends it
	fresh  []domain.AssetFreshness // sorted by asset id
}

func readPage(ctx context.Context, st *repository.Store, f domain.AssetFilter, p domain.Page) (listPage, error) {
	list, fresh, err := st.AssetListWithFreshness(ctx, f, p)
	if err != nil {
		return listPage{}, err
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].AssetID.String() < fresh[j].AssetID.String() })
	if fresh == nil {
		fresh = []domain.AssetFreshness{}
	}
	out := listPage{list: list, fresh: fresh}
	if list.NextCursor != nil {
		out.cursor = list.NextCursor.Encode()
	}
	return out, nil
}

// TestAssetListWithFreshness_SameAnswerOnBothPaths walks every page of a
// tenant's asset listing, for each filter and page size, outside a
// transaction (pgx's own statement: both parts and the freshness in one
// round trip) and inside one (GORM's statements), and holds the two to the
// same answer: the same rows in the same order, the same totals and
// cursors, the same freshness. The walk covers exactly the tenant's own and
// the global assets the filter matches: none of tenant B's rows or
// freshness records, which share every name, type, owner and tag.
func TestAssetListWithFreshness_SameAnswerOnBothPaths(t *testing.T) {
	t.Parallel()
	fx := newListFixture(t)
	ctx := domain.WithTenant(context.Background(), fx.a)
	for _, tc := range []struct {
		name   string
		filter domain.AssetFilter
		want   int // own and global rows the filter matches
	}{
		{"no filter", domain.AssetFilter{}, 9},
		{"type", domain.AssetFilter{AssetType: "table"}, 4},
		{"owner", domain.AssetFilter{Owner: "sales@example.com"}, 3},
		{"tag", domain.AssetFilter{Tag: "pii"}, 3},
		{"name prefix", domain.AssetFilter{NamePrefix: "sales"}, 4},
		{"name prefix with LIKE wildcards, matched literally", domain.AssetFilter{NamePrefix: "x_%"}, 1},
		{"every filter at once", domain.AssetFilter{AssetType: "table", Owner: "sales@example.com", Tag: "daily", NamePrefix: "sales_"}, 2},
		{"nothing matches", domain.AssetFilter{Tag: "no-such-tag"}, 0},
	} {
		for _, limit := range []int{1, 2, 4, 50} {
			for _, count := range []domain.CountMode{domain.CountEstimate, domain.CountExact} {
				t.Run(fmt.Sprintf("%s/limit %d/count %v", tc.name, limit, count), func(t *testing.T) {
					seen := map[uuid.UUID]bool{}
					p := domain.Page{Limit: limit, Count: count}
					for range 20 {
						piped, err := readPage(ctx, fx.st, tc.filter, p)
						if err != nil {
							t.Fatalf("outside a transaction: %v", err)
						}
						var txed listPage
						if err := fx.st.InTx(ctx, func(ctx context.Context) error {
							var err error
							txed, err = readPage(ctx, fx.st, tc.filter, p)
							return err
						}); err != nil {
							t.Fatalf("in a transaction: %v", err)
						}
						cursor := piped.list.NextCursor
						piped.list.NextCursor, txed.list.NextCursor = nil, nil
						if !reflect.DeepEqual(piped, txed) {
							t.Fatalf("page after %v outside a transaction:\n%+v\nin a transaction:\n%+v", p.Cursor, piped, txed)
						}
						if piped.list.Total != int64(tc.want) || piped.list.TotalIsEstimate {
							t.Errorf("total = %d (estimate %v), want %d exactly", piped.list.Total, piped.list.TotalIsEstimate, tc.want)
						}
						if len(piped.list.Items) > limit {
							t.Fatalf("page holds %d rows, limit %d", len(piped.list.Items), limit)
						}
						for i, a := range piped.list.Items {
							if seen[a.ID] {
								t.Errorf("asset %s (%s) on two pages", a.ID, a.Name)
							}
							seen[a.ID] = true
							if !fx.own[a.ID] && !fx.global[a.ID] {
								t.Errorf("asset %s (%s, tenant %v) is neither tenant A's nor global", a.ID, a.Name, a.TenantID)
							}
							if i > 0 {
								prev := piped.list.Items[i-1]
								if prev.CreatedAt.Before(a.CreatedAt) || prev.CreatedAt.Equal(a.CreatedAt) && prev.ID.String() < a.ID.String() {
									t.Errorf("page not newest first: %s before %s", prev.Name, a.Name)
								}
							}
						}
						for _, f := range piped.fresh {
							if !fx.freshness[f.AssetID] || f.TenantID != fx.a || f.Policy == nil || f.Policy.MaxAge != "1h" {
								t.Errorf("freshness %+v: not a record of tenant A's", f)
							}
							if !slices.ContainsFunc(piped.list.Items, func(a domain.Asset) bool { return a.ID == f.AssetID }) {
								t.Errorf("freshness of asset %s, which is not on the page", f.AssetID)
							}
						}
						for _, a := range piped.list.Items {
							has := slices.ContainsFunc(piped.fresh, func(f domain.AssetFreshness) bool { return f.AssetID == a.ID })
							if has != fx.freshness[a.ID] {
								t.Errorf("asset %s: freshness on the page %v, recorded %v", a.Name, has, fx.freshness[a.ID])
							}
						}
						if cursor == nil {
							break
						}
						p.Cursor = cursor
					}
					if len(seen) != tc.want {
						t.Errorf("the pages hold %d assets, want %d", len(seen), tc.want)
					}
				})
			}
		}
	}
}

// TestAssetListWithFreshness_OneStatementAndWalls holds the tenant's
// first page to one statement when the page proves its total, and the
// page's statement to both walls: with its tenant conditions cut out,
// row-level security alone still hides tenant B's rows and freshness.
func TestAssetListWithFreshness_OneStatementAndWalls(t *testing.T) {
	t.Parallel()
	fx := newListFixture(t)
	bg := context.Background()
	var reads atomic.Int64
	ctx := repository.CountQueries(domain.WithTenant(bg, fx.a), &reads)
	list, fresh, err := fx.st.AssetListWithFreshness(ctx, domain.AssetFilter{}, domain.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("a first page that proves its total ran %d statements, want 1", n)
	}
	if len(list.Items) != 9 || len(fresh) != len(fx.freshness) {
		t.Errorf("first page: %d assets and %d freshness records, want 9 and %d", len(list.Items), len(fresh), len(fx.freshness))
	}
	reads.Store(0)
	if _, _, err := fx.st.AssetListWithFreshness(ctx, domain.AssetFilter{}, domain.Page{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("a first page of 2 ran %d statements, want 2 (the page and a bounded count of tenant A's 7 rows; the 2 global rows fit the page)", n)
	}

	// A cursor page never proves its total: the page and a count of each
	// part, sent together.
	reads.Store(0)
	first, _, err := fx.st.AssetListWithFreshness(ctx, domain.AssetFilter{}, domain.Page{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	reads.Store(0)
	second, _, err := fx.st.AssetListWithFreshness(ctx, domain.AssetFilter{}, domain.Page{Limit: 2, Cursor: first.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 3 || second.Total != 9 || second.TotalIsEstimate {
		t.Errorf("a cursor page ran %d statements and answered total %d (estimate %v), want 3 and 9 exactly", n, second.Total, second.TotalIsEstimate)
	}

	page, args := repository.AssetListPageSQL(fx.a, domain.AssetFilter{}, domain.Page{Limit: 50})
	unscoped := strings.NewReplacer("WHERE tenant_id = $1", "WHERE $1::text IS NOT NULL", "WHERE tenant_id IS NULL", "WHERE true",
		" AND f.tenant_id = $1 AND a.tenant_id = $1", "").Replace(page)
	for _, cond := range []string{"WHERE tenant_id = $1", "WHERE tenant_id IS NULL", " AND f.tenant_id = $1 AND a.tenant_id = $1"} {
		if strings.Count(page, cond) != 1 {
			t.Fatalf("the page's tenant condition %q was not found once in %q", cond, page)
		}
	}
	// Each part now reads every row the scope can see: tenant A's own and
	// the global ones, twice over, none of tenant B's; and the freshness
	// joined is tenant A's alone.
	args = append([]any{fx.a, 51}, args...)
	n, err := repository.PgxReadCount(bg, fx.st, fx.a, unscoped, args...)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * (len(fx.own) + len(fx.global)); n != want {
		t.Errorf("the page with row-level security alone reads %d rows, want %d (tenant A's and global, in both parts)", n, want)
	}
	nf, err := repository.PgxReadCount(bg, fx.st, fx.a, "SELECT 1 FROM ("+unscoped+") AS page WHERE page.stale_after IS NOT NULL", args...)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * len(fx.freshness); nf != want {
		t.Errorf("freshness joined with row-level security alone: %d rows, want %d (tenant A's only)", nf, want)
	}

	// Tenant B's listing holds none of tenant A's rows; an unknown tenant's
	// holds the global rows alone.
	listB, freshB, err := fx.st.AssetListWithFreshness(domain.WithTenant(bg, fx.b), domain.AssetFilter{}, domain.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range listB.Items {
		if fx.own[a.ID] {
			t.Errorf("tenant B lists tenant A's asset %s", a.Name)
		}
	}
	if len(listB.Items) != 9 || len(freshB) != len(fx.other) {
		t.Errorf("tenant B: %d assets and %d freshness records, want 9 and %d", len(listB.Items), len(freshB), len(fx.other))
	}
	none, noneFresh, err := fx.st.AssetListWithFreshness(domain.WithTenant(bg, testdb.TenantID("list-none")), domain.AssetFilter{}, domain.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Items) != len(fx.global) || len(noneFresh) != 0 {
		t.Errorf("a tenant with no assets lists %d assets and %d freshness records, want the %d global ones and none", len(none.Items), len(noneFresh), len(fx.global))
	}
	if _, _, err := fx.st.AssetListWithFreshness(bg, domain.AssetFilter{}, domain.Page{Limit: 50}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a listing without a scope: err = %v, want ErrForbidden", err)
	}
}

// TestAssetList_NamePrefixIsAnIndexRange holds the name-prefix filter to a
// range of assets_name_prefix_idx under row-level security, on a tenant of
// 20,000 assets. LIKE could not be one (it is not leakproof, so PostgreSQL
// applies it only after the policy's quals, to every row of the tenant);
// starts_with is, and PostgreSQL turns it into the range.
func TestAssetList_NamePrefixIsAnIndexRange(t *testing.T) {
	t.Parallel()
	fx := newListFixture(t)
	bg := context.Background()
	fx.bulk(t, 20000, "[]")
	f := domain.AssetFilter{NamePrefix: "sales_"}
	if text := fx.explainPage(t, f); !strings.Contains(text, "assets_name_prefix_idx") || !strings.Contains(text, "~>=~ 'sales_'") {
		t.Errorf("the name-prefix page is not a range of assets_name_prefix_idx:\n%s", text)
	}
	list, _, err := fx.st.AssetListWithFreshness(domain.WithTenant(bg, fx.a), f, domain.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(list.Items), []string{"sales_items", "sales_orders", "sales_reference"}; !slices.Equal(got, want) || list.Total != 3 {
		t.Errorf("q=sales_ lists %v (total %d), want %v", got, list.Total, want)
	}
}

// TestAssetList_TagIsAnIndexRange holds the tag filter to a range of
// asset_tags_tag_idx under row-level security, on a tenant of 20,000 tagged
// assets: jsonb containment on assets.tags is not leakproof, so the policy
// kept PostgreSQL from using assets_tags_idx, and a rare tag read every row.
func TestAssetList_TagIsAnIndexRange(t *testing.T) {
	t.Parallel()
	fx := newListFixture(t)
	bg := context.Background()
	fx.bulk(t, 20000, `["bulk"]`)
	f := domain.AssetFilter{Tag: "pii"}
	if text := fx.explainPage(t, f); !strings.Contains(text, "asset_tags_tag_idx") {
		t.Errorf("the tag page does not read asset_tags_tag_idx:\n%s", text)
	}
	list, _, err := fx.st.AssetListWithFreshness(domain.WithTenant(bg, fx.a), f, domain.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 || list.Total != 3 {
		t.Errorf("tag=pii lists %d assets (total %d), want 3 (sales_orders, ops_log, sales_reference)", len(list.Items), list.Total)
	}
	bulk, _, err := fx.st.AssetListWithFreshness(domain.WithTenant(bg, fx.a), domain.AssetFilter{Tag: "bulk"}, domain.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(bulk.Items) != 50 || bulk.Total != 20000 || !bulk.TotalIsEstimate {
		t.Errorf("tag=bulk: %d assets, total %d (estimate %v); want 50 of 20000, estimated", len(bulk.Items), bulk.Total, bulk.TotalIsEstimate)
	}
}

// TestAssetTags_FollowTheAsset holds asset_tags to the assets' tags through
// every write: a new asset's tags, tags replaced, an asset deleted, a global
// asset changed by the system scope. The tag filter (pgx's statement, which
// reads asset_tags) and the filter on assets.tags (GORM's, in a transaction)
// must list the same assets for every tag after each write.
func TestAssetTags_FollowTheAsset(t *testing.T) {
	t.Parallel()
	fx := newListFixture(t)
	bg := context.Background()
	ctx := domain.WithTenant(bg, fx.a)
	sys := domain.WithSystem(bg)
	tags := []string{"pii", "daily", "x", "y", "z", "shared"}
	check := func(step string) {
		t.Helper()
		for _, tag := range tags {
			f := domain.AssetFilter{Tag: tag}
			piped, err := readPage(ctx, fx.st, f, domain.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var txed listPage
			if err := fx.st.InTx(ctx, func(ctx context.Context) error {
				var err error
				txed, err = readPage(ctx, fx.st, f, domain.Page{Limit: 100})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(piped.list.Items), names(txed.list.Items)) {
				t.Errorf("%s: tag %q lists %v from asset_tags, %v from assets.tags", step, tag, names(piped.list.Items), names(txed.list.Items))
			}
		}
	}
	check("fixture")
	a := &domain.Asset{Name: "tagged", AssetType: "table", Tags: []string{"x", "y"}}
	if err := fx.st.AssetCreate(ctx, a); err != nil {
		t.Fatal(err)
	}
	check("created with x, y")
	if _, err := fx.st.AssetUpdate(ctx, a.ID, func(a *domain.Asset) error { a.Tags = []string{"y", "z"}; return nil }); err != nil {
		t.Fatal(err)
	}
	check("tags replaced by y, z")
	if _, err := fx.st.AssetUpdate(ctx, a.ID, func(a *domain.Asset) error { a.Tags = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	check("tags removed")
	if _, err := fx.st.AssetUpdate(ctx, a.ID, func(a *domain.Asset) error { a.Tags = []string{"x"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := fx.st.AssetDelete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	check("deleted")
	g := &domain.Asset{Name: "global-tagged", AssetType: "table", Tags: []string{"shared"}}
	if err := fx.st.AssetCreate(sys, g); err != nil {
		t.Fatal(err)
	}
	check("global asset created with shared")
	if _, err := fx.st.AssetUpdate(sys, g.ID, func(a *domain.Asset) error { a.Tags = []string{"pii"}; return nil }); err != nil {
		t.Fatal(err)
	}
	check("global asset's tags replaced by pii")
	// Tenant B sees the global asset's tags, never tenant A's.
	b, _, err := fx.st.AssetListWithFreshness(domain.WithTenant(bg, fx.b), domain.AssetFilter{Tag: "pii"}, domain.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range b.Items {
		if fx.own[x.ID] {
			t.Errorf("tenant B's tag=pii lists tenant A's asset %s", x.Name)
		}
	}
	if got := names(b.Items); !slices.Contains(got, "global-tagged") || len(got) != 4 {
		t.Errorf("tenant B's tag=pii lists %v, want its own 2, sales_reference and global-tagged", got)
	}
	// Every row of asset_tags is one of an asset's tags (read as the owner,
	// past the policies).
	owner, err := sql.Open("pgx", fx.d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	var stray int
	if err := owner.QueryRowContext(bg, `SELECT count(*) FROM asset_tags t LEFT JOIN assets a ON a.id = t.asset_id
		WHERE a.id IS NULL OR a.tenant_id IS DISTINCT FROM t.tenant_id OR NOT a.tags ? t.tag`).Scan(&stray); err != nil {
		t.Fatal(err)
	}
	if stray != 0 {
		t.Errorf("%d rows of asset_tags match no tag of their asset", stray)
	}
}

func names(as []domain.Asset) []string {
	out := make([]string, len(as))
	for i := range as {
		out[i] = as[i].Name
	}
	slices.Sort(out)
	return out
}

// bulk adds n assets named bulk.1..n with tags (JSON) to tenant A, as the
// owner, and analyzes the tables, so that plans are those of a big tenant.
func (fx *listFixture) bulk(t *testing.T, n int, tags string) {
	t.Helper()
	owner, err := sql.Open("pgx", fx.d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	for _, q := range []string{
		fmt.Sprintf("INSERT INTO assets (id, tenant_id, name, tags, created_at, updated_at) SELECT gen_random_uuid(), '%s', 'bulk.' || g, '%s', now() - g * interval '1 second', now() FROM generate_series(1, %d) g", fx.a, tags, n),
		"ANALYZE assets",
		"ANALYZE asset_tags",
	} {
		if _, err := owner.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// explainPage returns PostgreSQL's plan of tenant A's first page of 50
// assets matching f, as pgx's statement reads it.
func (fx *listFixture) explainPage(t *testing.T, f domain.AssetFilter) string {
	t.Helper()
	page, args := repository.AssetListPageSQL(fx.a, f, domain.Page{Limit: 50})
	plan, err := repository.PgxReadText(context.Background(), fx.st, fx.a, "EXPLAIN "+page, append([]any{fx.a, 51}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
