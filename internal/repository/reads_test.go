package repository_test

// Reads outside a transaction send the tenant context and the query in one
// pipeline (package tenantconn, which has tests of its own). These tests
// hold the store's reads on that path to what a transaction gives: the
// scope in force for the query, row-level security on raw SQL over the
// schema, nothing left on the pooled connection, and the same values read
// back.

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
)

// readStrings runs query through db and returns the first column of each
// row.
func readStrings(t *testing.T, ctx context.Context, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
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

func TestPipelinedRead_DatabaseWallAndNoLeak(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a, b := e.seed(t, "pipe-a"), e.seed(t, "pipe-b")
	// One connection, so every statement below runs on the connection the
	// previous one used.
	st, err := repository.Open(context.Background(), e.d.AppURL, repository.PoolConfig{MaxOpen: 1, ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	db := st.SQLDB()
	bg := context.Background()

	// Raw SQL with no tenant condition: row-level security alone filters.
	for _, tc := range []struct {
		rows tenantRows
		want []uuid.UUID
	}{{a, a.assets[:]}, {b, b.assets[:]}} {
		got := readStrings(t, repository.ReadContext(bg, tc.rows.id), db, "SELECT id::text FROM assets WHERE tenant_id IS NOT NULL ORDER BY created_at, id")
		if len(got) != 2 || got[0] != tc.want[0].String() && got[0] != tc.want[1].String() {
			t.Errorf("tenant %s reads assets %v, want its own %v", tc.rows.id, got, tc.want)
		}
		for _, id := range got {
			if id != tc.want[0].String() && id != tc.want[1].String() {
				t.Errorf("tenant %s reads asset %s, not its own", tc.rows.id, id)
			}
		}
		if got := readStrings(t, repository.ReadContext(bg, tc.rows.id), db, "SELECT current_setting('app.tenant_id', true)"); len(got) != 1 || got[0] != tc.rows.id {
			t.Errorf("app.tenant_id in the read = %v, want %s", got, tc.rows.id)
		}
	}

	// The setting ended with the read's implicit transaction.
	if got := readStrings(t, bg, db, "SELECT current_setting('app.tenant_id', true)"); len(got) != 1 || got[0] != "" {
		t.Errorf("app.tenant_id after the read = %q, want empty", got)
	}
	if got := readStrings(t, bg, db, "SELECT id::text FROM assets WHERE tenant_id IS NOT NULL"); len(got) != 0 {
		t.Errorf("a query without a scope after a read sees %d tenant assets, want 0", len(got))
	}
	// An empty tenant fails closed.
	if got := readStrings(t, repository.ReadContext(bg, ""), db, "SELECT id::text FROM assets WHERE tenant_id IS NOT NULL"); len(got) != 0 {
		t.Errorf("an empty tenant sees %d tenant assets, want 0", len(got))
	}

	// A write in a read context is refused and changes nothing.
	if _, err := db.ExecContext(repository.ReadContext(bg, a.id), "DELETE FROM assets"); err == nil {
		t.Error("DELETE in a read context succeeded")
	}
	// A failing query reports PostgreSQL's error and leaves the connection
	// usable.
	if _, err := db.QueryContext(repository.ReadContext(bg, a.id), "SELECT no_such_column FROM assets"); err == nil {
		t.Error("a bad query succeeded")
	}
	if got := readStrings(t, repository.ReadContext(bg, a.id), db, "SELECT id::text FROM assets WHERE tenant_id IS NOT NULL"); len(got) != 2 {
		t.Errorf("tenant A reads %d assets after the refused DELETE and the bad query, want 2", len(got))
	}
}

func TestPipelinedRead_SameValuesAsTransaction(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	r := e.seed(t, "pipe-values")
	ctx := domain.WithTenant(context.Background(), r.id)
	// An asset with every kind of column set: text, JSON, a compute spec,
	// timestamps, and nulls left where the API leaves them.
	full := &domain.Asset{
		Name: "full", AssetType: "table", Description: "all columns: é", Owner: "data@example.com", Tags: []string{"b", "a"},
		Compute: &domain.ComputeSpec{Kind: "command", Argv: []string{"echo", "hi"}, Env: map[string]string{"K": "v"}, Timeout: "1m",
			Retry: &domain.RetryPolicy{MaxAttempts: 3}},
	}
	if err := e.st.AssetCreate(ctx, full); err != nil {
		t.Fatal(err)
	}

	// The asset with every column is in r's lineage: r.assets[0] -> r.assets[1] -> full.
	if _, err := e.svc.CreateDependency(ctx, r.assets[1], full.ID, domain.DependencyMetadata); err != nil {
		t.Fatal(err)
	}

	// inTx reads through a transaction (the ordinary pgx path).
	inTx := func(fn func(ctx context.Context) error) {
		t.Helper()
		if err := e.st.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		read func(ctx context.Context) (any, error)
	}{
		{"asset", func(ctx context.Context) (any, error) { return e.st.AssetGet(ctx, full.ID) }},
		{"asset list", func(ctx context.Context) (any, error) {
			return e.st.AssetList(ctx, domain.AssetFilter{}, domain.Page{Limit: 10})
		}},
		{"workflow", func(ctx context.Context) (any, error) { return e.st.WorkflowGet(ctx, r.workflow) }},
		{"runs", func(ctx context.Context) (any, error) {
			return e.st.RunList(ctx, domain.RunFilter{}, domain.Page{Limit: 10})
		}},
		{"run events", func(ctx context.Context) (any, error) { return e.st.RunEventList(ctx, r.runs[0]) }},
		{"run log", func(ctx context.Context) (any, error) { return e.st.RunLogGet(ctx, r.runs[0]) }},
		{"lineage (pgx's own rows outside a transaction)", func(ctx context.Context) (any, error) {
			return e.svc.Lineage(ctx, domain.LineageQuery{Root: r.assets[1], Direction: domain.Both, MaxDepth: 3})
		}},
		{"edges", func(ctx context.Context) (any, error) {
			return e.st.DependencyEdges(ctx, domain.EdgeQuery{DownstreamOf: []uuid.UUID{r.assets[0]}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			piped, err := tc.read(ctx)
			if err != nil {
				t.Fatalf("read outside a transaction: %v", err)
			}
			var txed any
			inTx(func(ctx context.Context) error {
				var err error
				txed, err = tc.read(ctx)
				return err
			})
			if !reflect.DeepEqual(piped, txed) {
				t.Errorf("read outside a transaction:\n%+v\nin a transaction:\n%+v", piped, txed)
			}
		})
	}

	// Another tenant's row is not found outside a transaction either.
	other := e.seed(t, "pipe-other")
	if _, err := e.st.AssetGet(ctx, other.assets[0]); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another tenant's asset: err = %v, want ErrNotFound", err)
	}
}

// TestStockPool_SameAnswers opens the store on pgx's stock pool (the
// explicit option): every read and write opens a transaction that sets the
// tenant context with a statement of its own, and answers what the default
// pool answers, with the same walls.
func TestStockPool_SameAnswers(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a, b := e.seed(t, "stock-a"), e.seed(t, "stock-b")
	st, err := repository.Open(context.Background(), e.d.AppURL, repository.PoolConfig{MaxOpen: 1, ConnectTimeout: 10 * time.Second, StockPool: true}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := domain.WithTenant(context.Background(), a.id)

	for _, id := range a.assets {
		stock, err := st.AssetGet(ctx, id)
		if err != nil {
			t.Fatalf("own asset on the stock pool: %v", err)
		}
		def, err := e.st.AssetGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stock, def) {
			t.Errorf("asset on the stock pool:\n%+v\non the default pool:\n%+v", stock, def)
		}
	}
	if _, err := st.AssetGet(ctx, b.assets[0]); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another tenant's asset on the stock pool: err = %v, want ErrNotFound", err)
	}
	created := &domain.Asset{Name: "stock-write", AssetType: "table"}
	if err := st.AssetCreate(ctx, created); err != nil {
		t.Fatalf("write on the stock pool: %v", err)
	}
	if _, err := e.st.AssetGet(domain.WithTenant(context.Background(), b.id), created.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("tenant B reads tenant A's new asset: err = %v, want ErrNotFound", err)
	}
	// The stock pool's connections ignore a read context: raw SQL under one
	// runs with no tenant set and sees no tenant's rows.
	if got := readStrings(t, repository.ReadContext(context.Background(), a.id), st.SQLDB(), "SELECT id::text FROM assets WHERE tenant_id IS NOT NULL"); len(got) != 0 {
		t.Errorf("a read context on the stock pool sees %d tenant assets, want 0", len(got))
	}
}

// TestAssetGet_PointReadWalls holds the point read outside a transaction
// (pgx's own path: the tenant context and the statement in one pipeline)
// to both walls: the statement names the tenant, and with that condition
// cut out row-level security alone still hides other tenants' rows. On a
// pool of one connection, the connection the read used has no tenant set
// afterwards.
func TestAssetGet_PointReadWalls(t *testing.T) {
	t.Parallel()
	e := newRLSEnv(t)
	a, b := e.seed(t, "point-a"), e.seed(t, "point-b")
	global := e.seedGlobal(t)
	st, err := repository.Open(context.Background(), e.d.AppURL, repository.PoolConfig{MaxOpen: 1, ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	bg := context.Background()
	ctxA := domain.WithTenant(bg, a.id)

	var reads atomic.Int64
	got, err := st.AssetGet(repository.CountQueries(ctxA, &reads), a.assets[0])
	if err != nil {
		t.Fatalf("own asset: %v", err)
	}
	if got.ID != a.assets[0] || got.TenantID == nil || *got.TenantID != a.id {
		t.Errorf("own asset: got id %s tenant %v, want %s of %s", got.ID, got.TenantID, a.assets[0], a.id)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("a point read ran %d statements, want 1", n)
	}
	if g, err := st.AssetGet(ctxA, global); err != nil || g.TenantID != nil {
		t.Errorf("global asset: %+v, %v; want it, with no tenant", g, err)
	}
	for _, id := range []uuid.UUID{b.assets[0], uuid.New()} {
		if _, err := st.AssetGet(ctxA, id); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("tenant A reads %s (another tenant's or none): err = %v, want ErrNotFound", id, err)
		}
	}
	// The same statement without its tenant condition: row-level security
	// alone lets tenant A see its own row and not tenant B's.
	unscoped := strings.Replace(repository.AssetGetSQL, " AND (tenant_id = $1 OR tenant_id IS NULL)", " AND $1::text IS NOT NULL", 1)
	if unscoped == repository.AssetGetSQL {
		t.Fatalf("the point read's tenant condition was not found in %q", repository.AssetGetSQL)
	}
	for _, tc := range []struct {
		id   uuid.UUID
		want int
	}{{a.assets[0], 1}, {b.assets[0], 0}, {global, 1}} {
		n, err := repository.PgxReadCount(bg, st, a.id, unscoped, a.id, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("tenant A reads asset %s with row-level security alone: %d rows, want %d", tc.id, n, tc.want)
		}
	}
	// An empty tenant fails closed on this path as well.
	if n, err := repository.PgxReadCount(bg, st, "", unscoped, "", a.assets[0]); err != nil || n != 0 {
		t.Errorf("an empty tenant reads tenant A's asset: %d rows, %v; want 0", n, err)
	}

	// The pool's only connection served the reads above; nothing of the
	// tenant is left on it.
	if _, err := st.AssetGet(ctxA, a.assets[1]); err != nil {
		t.Fatal(err)
	}
	if got := readStrings(t, bg, st.SQLDB(), "SELECT coalesce(current_setting('app.tenant_id', true), '')"); len(got) != 1 || got[0] != "" {
		t.Errorf("app.tenant_id on the connection after a point read = %q, want empty", got)
	}
	if got := readStrings(t, bg, st.SQLDB(), "SELECT id::text FROM assets WHERE tenant_id IS NOT NULL"); len(got) != 0 {
		t.Errorf("a query without a scope after a point read sees %d tenant assets, want 0", len(got))
	}
	if st.Stats().OpenConnections != 1 {
		t.Errorf("the pool holds %d connections, want the one every read shared", st.Stats().OpenConnections)
	}
}
