package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

func ptr[T any](v T) *T { return &v }

func TestAssetCRUD(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		created, err := svc.CreateAsset(a.ctx, service.CreateAssetInput{
			Name: "orders", Description: "raw orders", Owner: "data-eng", Tags: []string{"pii", "raw"},
		})
		mustOK(t, err)
		if created.AssetType != domain.DefaultAssetType || created.TenantID == nil || *created.TenantID != a.id {
			t.Fatalf("created = %+v, want type generic and tenant %s", created, a.id)
		}
		if created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) || created.CreatedAt.Location().String() != "UTC" {
			t.Fatalf("timestamps = %v / %v, want equal UTC", created.CreatedAt, created.UpdatedAt)
		}

		got, err := svc.GetAsset(a.ctx, created.ID)
		mustOK(t, err)
		if got.Name != "orders" || got.Description != "raw orders" || got.Owner != "data-eng" || !slices.Equal(got.Tags, []string{"pii", "raw"}) || !got.CreatedAt.Equal(created.CreatedAt) {
			t.Fatalf("get = %+v, want what was created %+v", got, created)
		}
		byName, err := svc.ResolveAsset(a.ctx, "orders")
		mustOK(t, err)
		if byName.ID != created.ID {
			t.Fatalf("resolve by name = %s, want %s", byName.ID, created.ID)
		}

		updated, err := svc.UpdateAsset(a.ctx, created.ID, domain.AssetPatch{Description: ptr("clean orders"), Tags: ptr([]string{"gold"})})
		mustOK(t, err)
		if updated.Description != "clean orders" || updated.Name != "orders" || updated.Owner != "data-eng" || !slices.Equal(updated.Tags, []string{"gold"}) {
			t.Fatalf("update = %+v, want description and tags changed, the rest kept", updated)
		}
		if !updated.UpdatedAt.After(created.UpdatedAt) && !updated.UpdatedAt.Equal(created.UpdatedAt) {
			t.Fatalf("updated_at went backwards")
		}
		again, err := svc.GetAsset(a.ctx, created.ID)
		mustOK(t, err)
		if again.Description != "clean orders" {
			t.Fatalf("update not stored: %+v", again)
		}

		mustOK(t, svc.DeleteAsset(a.ctx, created.ID))
		_, err = svc.GetAsset(a.ctx, created.ID)
		mustErr(t, err, domain.ErrNotFound)
	})
}

func TestAssetValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	cases := []struct {
		name  string
		in    service.CreateAssetInput
		field string
	}{
		{"empty name", service.CreateAssetInput{Name: ""}, "name"},
		{"name too long", service.CreateAssetInput{Name: long}, "name"},
		{"control character", service.CreateAssetInput{Name: "a\x00b"}, "name"},
		{"invalid utf-8", service.CreateAssetInput{Name: "a\xffb"}, "name"},
		{"type too long", service.CreateAssetInput{Name: "a", AssetType: strings.Repeat("t", 101)}, "asset_type"},
		{"duplicate tag", service.CreateAssetInput{Name: "a", Tags: []string{"x", "x"}}, "tags"},
		{"empty tag", service.CreateAssetInput{Name: "a", Tags: []string{""}}, "tags"},
	}
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		for _, tc := range cases {
			_, err := svc.CreateAsset(a.ctx, tc.in)
			mustErr(t, err, domain.ErrInvalid)
			var ve *domain.ValidationError
			if !asValidation(err, &ve) || ve.Fields[tc.field] == "" {
				t.Errorf("%s: error %v does not name field %q", tc.name, err, tc.field)
			}
		}
		n, err := svc.CountAssets(a.ctx, domain.AssetFilter{})
		mustOK(t, err)
		if n != 0 {
			t.Fatalf("invalid creates stored %d assets", n)
		}
		// The limits themselves are accepted.
		_, err = svc.CreateAsset(a.ctx, service.CreateAssetInput{Name: strings.Repeat("é", 255), AssetType: strings.Repeat("t", 100)})
		mustOK(t, err)
	})
}

func TestAssetNotFound(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		missing := uuid.New()
		_, err := svc.GetAsset(a.ctx, missing)
		mustErr(t, err, domain.ErrNotFound)
		_, err = svc.ResolveAsset(a.ctx, "no-such-asset")
		mustErr(t, err, domain.ErrNotFound)
		_, err = svc.UpdateAsset(a.ctx, missing, domain.AssetPatch{Owner: ptr("x")})
		mustErr(t, err, domain.ErrNotFound)
		mustErr(t, svc.DeleteAsset(a.ctx, missing), domain.ErrNotFound)
	})
}

func TestAssetConflicts(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		a.asset("orders")
		x := a.asset("customers")
		_, err := svc.CreateAsset(a.ctx, service.CreateAssetInput{Name: "orders"})
		mustErr(t, err, domain.ErrConflict)
		_, err = svc.UpdateAsset(a.ctx, x.ID, domain.AssetPatch{Name: ptr("orders")})
		mustErr(t, err, domain.ErrConflict)
		// Another tenant may use the same name.
		other.asset("orders")

		// Global names are unique among global rows too (NULLs are distinct in
		// a plain unique index, so this needs its own).
		g := fmt.Sprintf("global-%s", a.id)
		_, err = svc.CreateAsset(sys(), service.CreateAssetInput{Name: g, Global: true})
		mustOK(t, err)
		_, err = svc.CreateAsset(sys(), service.CreateAssetInput{Name: g, Global: true})
		mustErr(t, err, domain.ErrConflict)
		// A tenant's own asset may share a global name; its own wins by name.
		own, err := svc.CreateAsset(a.ctx, service.CreateAssetInput{Name: g})
		mustOK(t, err)
		got, err := svc.ResolveAsset(a.ctx, g)
		mustOK(t, err)
		if got.ID != own.ID {
			t.Fatalf("resolve %q = %s, want the tenant's own %s", g, got.ID, own.ID)
		}
	})
}

func TestAssetListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		mk := func(name, typ, owner string, tags ...string) {
			_, err := svc.CreateAsset(a.ctx, service.CreateAssetInput{Name: name, AssetType: typ, Owner: owner, Tags: tags})
			mustOK(t, err)
		}
		mk("raw.orders", "table", "ingest", "raw", "pii")
		mk("raw.customers", "table", "ingest", "raw")
		mk("mart.revenue", "view", "finance", "gold")
		mk("raw_x", "file", "ingest")
		mk("rawXY", "file", "ingest")
		mk("100%", "file", "ops")

		cases := []struct {
			name string
			f    domain.AssetFilter
			want []string
		}{
			{"type", domain.AssetFilter{AssetType: "table"}, []string{"raw.customers", "raw.orders"}},
			{"owner", domain.AssetFilter{Owner: "finance"}, []string{"mart.revenue"}},
			{"tag", domain.AssetFilter{Tag: "raw"}, []string{"raw.customers", "raw.orders"}},
			{"tag and owner", domain.AssetFilter{Tag: "pii", Owner: "ingest"}, []string{"raw.orders"}},
			{"prefix", domain.AssetFilter{NamePrefix: "raw."}, []string{"raw.customers", "raw.orders"}},
			{"underscore is literal", domain.AssetFilter{NamePrefix: "raw_"}, []string{"raw_x"}},
			{"percent is literal", domain.AssetFilter{NamePrefix: "100%"}, []string{"100%"}},
			{"percent alone matches nothing", domain.AssetFilter{NamePrefix: "%"}, nil},
			{"sql metacharacters", domain.AssetFilter{NamePrefix: "' OR 1=1 --"}, nil},
			{"unknown tag", domain.AssetFilter{Tag: "nope"}, nil},
		}
		for _, tc := range cases {
			list, err := svc.ListAssets(a.ctx, tc.f, domain.Page{})
			mustOK(t, err)
			var names []string
			for _, x := range list.Items {
				names = append(names, x.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, tc.want) || list.Total != int64(len(tc.want)) {
				t.Errorf("%s: got %v (total %d), want %v", tc.name, names, list.Total, tc.want)
			}
			n, err := svc.CountAssets(a.ctx, tc.f)
			mustOK(t, err)
			if n != int64(len(tc.want)) {
				t.Errorf("%s: count %d, want %d", tc.name, n, len(tc.want))
			}
		}

		for _, p := range []domain.Page{{Limit: -1}, {Limit: domain.MaxLimit + 1}, {Offset: -1}} {
			_, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, p)
			mustErr(t, err, domain.ErrInvalid)
		}
		list, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, domain.Page{})
		mustOK(t, err)
		if list.Limit != domain.DefaultLimit || list.Offset != 0 {
			t.Fatalf("default page = limit %d offset %d", list.Limit, list.Offset)
		}
		list, err = svc.ListAssets(a.ctx, domain.AssetFilter{}, domain.Page{Limit: 10, Offset: 100})
		mustOK(t, err)
		if len(list.Items) != 0 || list.Total != 6 {
			t.Fatalf("page past the end = %d items, total %d", len(list.Items), list.Total)
		}
	})
}

// TestAssetPagingWithEqualTimestamps gives every row the same created_at and
// walks the pages: together they must hold every row exactly once.
func TestAssetPagingWithEqualTimestamps(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		const n = 23
		for i := range n {
			a.asset(fmt.Sprintf("asset-%02d", i))
		}
		b.Exec(t, "UPDATE assets SET created_at = ? WHERE tenant_id = ?", "2026-01-02 03:04:05+00:00", a.id)
		seen := map[uuid.UUID]int{}
		var order []uuid.UUID
		for off := 0; off < n+5; off += 5 {
			page, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, domain.Page{Limit: 5, Offset: off})
			mustOK(t, err)
			if page.Total != n {
				t.Fatalf("total = %d, want %d", page.Total, n)
			}
			for _, x := range page.Items {
				seen[x.ID]++
				order = append(order, x.ID)
			}
		}
		if len(seen) != n || len(order) != n {
			t.Fatalf("pages held %d distinct of %d rows (%d in all): overlap or skip", len(seen), n, len(order))
		}
		// Ties are broken by id, descending.
		for i := 1; i < len(order); i++ {
			if strings.Compare(order[i-1].String(), order[i].String()) <= 0 {
				t.Fatalf("rows %d and %d out of id order", i-1, i)
			}
		}
	})
}

// TestAssetCursorPagingWithEqualTimestamps walks 23 rows that share one
// created_at by cursor: the pages hold every row exactly once, in id order,
// and the last page has no next cursor.
func TestAssetCursorPagingWithEqualTimestamps(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		const n = 23
		for i := range n {
			a.asset(fmt.Sprintf("asset-%02d", i))
		}
		b.Exec(t, "UPDATE assets SET created_at = ? WHERE tenant_id = ?", "2026-01-02 03:04:05+00:00", a.id)
		seen := map[uuid.UUID]int{}
		var order []uuid.UUID
		var cur *domain.Cursor
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("cursor paging does not end")
			}
			p := domain.Page{Limit: 5}
			if cur != nil {
				// Through the opaque text form, as a client would.
				c, err := domain.DecodeCursor(cur.Encode())
				mustOK(t, err)
				p.Cursor = &c
			}
			page, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, p)
			mustOK(t, err)
			if page.Total != n {
				t.Fatalf("total = %d, want %d", page.Total, n)
			}
			for _, x := range page.Items {
				seen[x.ID]++
				order = append(order, x.ID)
			}
			if page.NextCursor == nil {
				if len(page.Items) != n%5 {
					t.Fatalf("last page holds %d rows, want %d", len(page.Items), n%5)
				}
				break
			}
			if len(page.Items) != 5 {
				t.Fatalf("page with a next cursor holds %d rows, want 5", len(page.Items))
			}
			cur = page.NextCursor
		}
		if len(seen) != n || len(order) != n {
			t.Fatalf("pages held %d distinct of %d rows (%d in all): overlap or skip", len(seen), n, len(order))
		}
		for i := 1; i < len(order); i++ {
			if strings.Compare(order[i-1].String(), order[i].String()) <= 0 {
				t.Fatalf("rows %d and %d out of id order", i-1, i)
			}
		}
	})
}

// TestCursorStaysInTenant hands tenant B a cursor made from tenant A's rows:
// B sees only its own rows after that position, never A's.
func TestCursorStaysInTenant(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, bt := setup(t, b)
		for i := range 3 {
			a.asset(fmt.Sprintf("a-%d", i))
			bt.asset(fmt.Sprintf("b-%d", i))
		}
		// A's rows are the newest, so A's cursor lies after every B row
		// only if B's rows are older; put B's in the past and A's cursor
		// in the future so that B's whole listing follows it.
		b.Exec(t, "UPDATE assets SET created_at = ? WHERE tenant_id = ?", "2026-01-02 03:04:05+00:00", bt.id)
		b.Exec(t, "UPDATE assets SET created_at = ? WHERE tenant_id = ?", "2026-06-02 03:04:05+00:00", a.id)
		first, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, domain.Page{Limit: 1})
		mustOK(t, err)
		if first.NextCursor == nil {
			t.Fatal("tenant A's first page has no next cursor")
		}
		mine := map[uuid.UUID]bool{}
		all, err := svc.ListAssets(bt.ctx, domain.AssetFilter{}, domain.Page{Limit: 50})
		mustOK(t, err)
		for _, x := range all.Items {
			mine[x.ID] = true
		}
		got, err := svc.ListAssets(bt.ctx, domain.AssetFilter{}, domain.Page{Limit: 50, Cursor: first.NextCursor})
		mustOK(t, err)
		if len(got.Items) != 3 {
			t.Fatalf("B's page after A's cursor holds %d rows, want B's 3", len(got.Items))
		}
		for _, x := range got.Items {
			if !mine[x.ID] {
				t.Fatalf("B's page holds %s (%s), not one of B's rows", x.ID, x.Name)
			}
		}
		if got.Total != 3 {
			t.Fatalf("B's total = %d, want 3", got.Total)
		}
	})
}

// TestCursorWithOffsetRefused: a page asks by cursor or by offset, not both.
func TestCursorWithOffsetRefused(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		_, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, domain.Page{Limit: 5, Offset: 5, Cursor: &domain.Cursor{ID: uuid.New()}})
		var ve *domain.ValidationError
		if !asValidation(err, &ve) {
			t.Fatalf("error = %v, want a validation error", err)
		}
	})
}

func asValidation(err error, target **domain.ValidationError) bool {
	for err != nil {
		if v, ok := err.(*domain.ValidationError); ok {
			*target = v
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// TestAssetPagingMergesGlobalRows walks a tenant's assets by cursor while
// global rows are interleaved with its own in time: every visible row comes
// exactly once, in (created_at DESC, id DESC) order, and offset paging agrees.
func TestAssetPagingMergesGlobalRows(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, other := setup(t, b)
		for i := range 7 {
			a.asset(fmt.Sprintf("own-%d", i))
			other.asset(fmt.Sprintf("theirs-%d", i))
			if i%2 == 0 {
				_, err := svc.CreateAsset(sys(), service.CreateAssetInput{Name: fmt.Sprintf("global-%s-%d", a.id, i), Global: true})
				mustOK(t, err)
			}
		}
		var byCursor []uuid.UUID
		p := domain.Page{Limit: 3}
		for range 10 {
			page, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, p)
			mustOK(t, err)
			if page.Total != 11 {
				t.Fatalf("total = %d, want 7 own + 4 global", page.Total)
			}
			for _, x := range page.Items {
				byCursor = append(byCursor, x.ID)
			}
			if page.NextCursor == nil {
				break
			}
			p.Cursor = page.NextCursor
		}
		var byOffset []uuid.UUID
		for off := 0; off < 11; off += 4 {
			page, err := svc.ListAssets(a.ctx, domain.AssetFilter{}, domain.Page{Limit: 4, Offset: off})
			mustOK(t, err)
			for _, x := range page.Items {
				byOffset = append(byOffset, x.ID)
			}
		}
		if len(byCursor) != 11 || !slices.Equal(byCursor, byOffset) {
			t.Fatalf("cursor walk %d rows, offset walk %d rows, equal %v", len(byCursor), len(byOffset), slices.Equal(byCursor, byOffset))
		}
		seen := map[uuid.UUID]bool{}
		for _, id := range byCursor {
			if seen[id] {
				t.Fatalf("row %s twice", id)
			}
			seen[id] = true
			x, err := svc.GetAsset(a.ctx, id)
			mustOK(t, err)
			if x.TenantID != nil && *x.TenantID != a.id {
				t.Fatalf("another tenant's row %s in the walk", x.Name)
			}
		}
	})
}
