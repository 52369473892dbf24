package service_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/checks"
	"github.com/servo-data/servo/internal/testdb"
)

// plantAssets inserts n assets of the tenant in bulk as the owner, named
// prefix-00000 and on, of type typ.
func plantAssets(t *testing.T, b *testdb.Backend, tenant, prefix, typ string, n int) {
	t.Helper()
	ts := "2026-01-01 00:00:00+00:00"
	for start := 0; start < n; start += 500 {
		var rows []string
		for i := start; i < min(start+500, n); i++ {
			rows = append(rows, fmt.Sprintf("('%s', '%s', '%s-%05d', '%s', '%s', '%s')", uuid.NewString(), tenant, prefix, i, typ, ts, ts))
		}
		b.Exec(t, "INSERT INTO assets (id, tenant_id, name, asset_type, created_at, updated_at) VALUES "+join(rows))
	}
}

// TestListTotals checks the total of a listing in each count mode: exact
// up to domain.TotalBound rows past the offset, an estimate flagged as
// such past it, exact with domain.CountExact whatever the size, and never
// another tenant's rows or another listing's count.
func TestListTotals(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		bigA, bigB := domain.TotalBound+5, domain.TotalBound+20
		plantAssets(t, b, a.id, "big", "table", bigA)
		plantAssets(t, b, a.id, "small", "view", 3)
		plantAssets(t, b, other.id, "big", "table", bigB)
		all := domain.AssetFilter{}
		tables := domain.AssetFilter{AssetType: "table"}
		views := domain.AssetFilter{AssetType: "view"}

		list := func(tn *tenant, f domain.AssetFilter, p domain.Page) domain.List[domain.Asset] {
			t.Helper()
			l, err := svc.ListAssets(tn.ctx, f, p)
			mustOK(t, err)
			return l
		}
		first := list(a, all, domain.Page{Limit: 10})
		cases := []struct {
			name     string
			tn       *tenant
			f        domain.AssetFilter
			p        domain.Page
			total    int64
			estimate bool
			items    int
		}{
			{"small listing: exact", a, views, domain.Page{}, 3, false, 3},
			{"small listing, count=exact", a, views, domain.Page{Count: domain.CountExact}, 3, false, 3},
			{"small listing, count=estimate", a, views, domain.Page{Count: domain.CountEstimate}, 3, false, 3},
			{"past the bound: estimate", a, all, domain.Page{Limit: 10}, int64(bigA + 3), true, 10},
			{"past the bound, count=exact", a, all, domain.Page{Limit: 10, Count: domain.CountExact}, int64(bigA + 3), false, 10},
			{"past the bound by cursor: estimate", a, all, domain.Page{Limit: 10, Cursor: first.NextCursor}, int64(bigA + 3), true, 10},
			{"past the bound by cursor, count=exact", a, all, domain.Page{Limit: 10, Cursor: first.NextCursor, Count: domain.CountExact}, int64(bigA + 3), false, 10},
			{"within the bound past the offset: exact", a, all, domain.Page{Limit: 10, Offset: 100}, int64(bigA + 3), false, 10},
			{"the last page proves the total", a, all, domain.Page{Limit: 10, Offset: bigA}, int64(bigA + 3), false, 3},
			{"past the end: exact", a, all, domain.Page{Limit: 10, Offset: 5000}, int64(bigA + 3), false, 0},
			{"a filter has its own count", a, tables, domain.Page{Limit: 10}, int64(bigA), true, 10},
			{"another tenant: its own estimate", other, all, domain.Page{Limit: 10}, int64(bigB), true, 10},
			{"another tenant, count=exact", other, all, domain.Page{Limit: 10, Count: domain.CountExact}, int64(bigB), false, 10},
			{"another tenant's small listing", other, views, domain.Page{}, 0, false, 0},
		}
		for _, tc := range cases {
			l := list(tc.tn, tc.f, tc.p)
			if l.Total != tc.total || l.TotalIsEstimate != tc.estimate || len(l.Items) != tc.items {
				t.Errorf("%s: total %d (estimate %v), %d items; want %d (estimate %v), %d items",
					tc.name, l.Total, l.TotalIsEstimate, len(l.Items), tc.total, tc.estimate, tc.items)
			}
			for _, x := range l.Items {
				if x.TenantID == nil || *x.TenantID != tc.tn.id {
					t.Fatalf("%s: listed %s of tenant %v", tc.name, x.Name, x.TenantID)
				}
			}
		}

		// The estimate may lag behind new rows, an exact count does not;
		// neither ever reads as fewer rows than the page proves.
		plantAssets(t, b, a.id, "late", "table", 7)
		l := list(a, all, domain.Page{Limit: 10, Count: domain.CountExact})
		if l.Total != int64(bigA+10) || l.TotalIsEstimate {
			t.Fatalf("exact after 7 more rows: total %d (estimate %v), want %d", l.Total, l.TotalIsEstimate, bigA+10)
		}
		l = list(a, all, domain.Page{Limit: 10})
		if !l.TotalIsEstimate || l.Total < int64(bigA+3) || l.Total > int64(bigA+10) {
			t.Fatalf("estimate after 7 more rows: total %d (estimate %v), want an estimate in [%d, %d]", l.Total, l.TotalIsEstimate, bigA+3, bigA+10)
		}
		l = list(a, all, domain.Page{Limit: 500, Offset: bigA + 10 - 500 - 1})
		if l.NextCursor == nil || l.Total <= int64(l.Offset+len(l.Items)) {
			t.Fatalf("a page with rows after it: total %d at offset %d with %d items", l.Total, l.Offset, len(l.Items))
		}

		// An unknown count mode is refused.
		_, err := svc.ListAssets(a.ctx, all, domain.Page{Count: "approximate"})
		mustErr(t, err, domain.ErrInvalid)
		var ve *domain.ValidationError
		if !asValidation(err, &ve) || ve.Fields["count"] == "" {
			t.Fatalf("bad count mode: %v does not name the count field", err)
		}
	})
}

// TestListTotalsOfOtherListings checks that every listing carries the
// flag: runs, workflows and their versions, checks, counted exactly while
// small, in both count modes.
func TestListTotalsOfOtherListings(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		x := a.asset("orders")
		_, err := svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "nightly", Assets: []string{"orders"}})
		mustOK(t, err)
		_, err = svc.CreateWorkflow(a.ctx, service.CreateWorkflowInput{Name: "nightly", Assets: []string{"orders"}})
		mustOK(t, err)
		for i := range 2 {
			_, err := svc.Checks().Create(a.ctx, checks.Input{Asset: x.ID.String(), Name: fmt.Sprintf("c%d", i), Type: json.RawMessage(`{"type":"not_null","columns":["id"]}`)})
			mustOK(t, err)
		}
		other.asset("orders")
		for _, mode := range []domain.CountMode{"", domain.CountEstimate, domain.CountExact} {
			p := domain.Page{Count: mode}
			ws, err := svc.ListWorkflows(a.ctx, p)
			mustOK(t, err)
			vs, err := svc.ListWorkflowVersions(a.ctx, "nightly", p)
			mustOK(t, err)
			cs, err := svc.Checks().List(a.ctx, domain.CheckFilter{}, p)
			mustOK(t, err)
			rs, err := svc.ListRunViews(a.ctx, service.RunQuery{}, p)
			mustOK(t, err)
			for _, got := range []struct {
				what     string
				total    int64
				estimate bool
				want     int64
			}{
				{"workflows", ws.Total, ws.TotalIsEstimate, 1},
				{"versions", vs.Total, vs.TotalIsEstimate, 2},
				{"checks", cs.Total, cs.TotalIsEstimate, 2},
				{"runs", rs.Total, rs.TotalIsEstimate, 0},
			} {
				if got.total != got.want || got.estimate {
					t.Errorf("count %q: %s total %d (estimate %v), want exactly %d", mode, got.what, got.total, got.estimate, got.want)
				}
			}
			ows, err := svc.ListWorkflows(other.ctx, p)
			mustOK(t, err)
			if ows.Total != 0 || ows.TotalIsEstimate {
				t.Errorf("count %q: the other tenant's workflows total %d (estimate %v), want exactly 0", mode, ows.Total, ows.TotalIsEstimate)
			}
		}
	})
}
