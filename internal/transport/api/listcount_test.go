package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/testdb"
)

// countedLists are the list routes that answer total, with the item field of
// each.
var countedLists = []struct{ path, field string }{
	{"/api/v1/assets", "assets"},
	{"/api/v1/assets?stale=true", "assets"},
	{"/api/v1/assets?asset_type=table", "assets"},
	{"/api/v1/workflows", "workflows"},
	{"/api/v1/workflows/lc-flow/versions", "workflows"},
	{"/api/v1/runs", "runs"},
	{"/api/v1/executions", "runs"},
	{"/api/v1/checks", "checks"},
	{"/api/v1/backfills", "backfills"},
	{"/api/v1/schedules", "schedules"},
	{"/api/v1/automations", "automations"},
}

// withQuery appends a query string to path.
func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// TestListCountParameter checks count on every list route: without it and
// with count=estimate or count=exact a small listing answers its exact
// total with total_is_estimate false, always present; any other value is
// 400 naming the parameter.
func TestListCountParameter(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	e.asset(e.keyA, "lc-a")
	e.asset(e.keyA, "lc-b")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "lc-flow", "assets": []string{"lc-a"}}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "lc-flow", "assets": []string{"lc-a", "lc-b"}}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/checks", key: e.keyA, body: map[string]any{"asset_id": "lc-a", "name": "lc_not_null", "check_type": map[string]any{"type": "not_null", "columns": []string{"id"}}}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/schedules", key: e.keyA, body: map[string]any{"name": "lc-sched", "workflow": "lc-flow", "cron": "0 2 * * *"}})
	// Tenant B's rows must not show in A's totals.
	e.asset(e.keyB, "lc-b-only")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyB, body: map[string]any{"name": "lc-b-flow", "assets": []string{"lc-b-only"}}})
	want := map[string]float64{
		"/api/v1/assets": 2, "/api/v1/assets?stale=true": 0, "/api/v1/assets?asset_type=table": 0,
		"/api/v1/workflows": 1, "/api/v1/workflows/lc-flow/versions": 2, "/api/v1/runs": 0, "/api/v1/executions": 0,
		"/api/v1/checks": 1, "/api/v1/backfills": 0, "/api/v1/schedules": 1, "/api/v1/automations": 0,
	}
	for _, lp := range countedLists {
		for _, q := range []string{"", "count=estimate", "count=exact"} {
			path := lp.path
			if q != "" {
				path = withQuery(path, q)
			}
			var body map[string]any
			e.must(http.StatusOK, req{method: "GET", path: path, key: e.keyA}).json(t, &body)
			est, ok := body["total_is_estimate"]
			if body["total"] != want[lp.path] || !ok || est != false {
				t.Errorf("GET %s: total %v, total_is_estimate %v (present %v); want %v and false", path, body["total"], est, ok, want[lp.path])
			}
			if items, _ := body[lp.field].([]any); float64(len(items)) != want[lp.path] {
				t.Errorf("GET %s: %d %s, want %v", path, len(items), lp.field, want[lp.path])
			}
		}
		for _, q := range []string{"count=bogus", "count=", "count=EXACT", "count=exact&count=exact", "count=estimated"} {
			path := withQuery(lp.path, q)
			res := e.must(http.StatusBadRequest, req{method: "GET", path: path, key: e.keyA})
			if d := res.errBody(t); !strings.Contains(d.Message, `"count" must be exact or estimate`) || d.Details["count"] == nil {
				t.Errorf("GET %s: error %+v, want one naming count", path, d)
			}
		}
	}
}

// plantAssets inserts n assets of tenant in bulk as the owner.
func plantAssets(t *testing.T, tenant, prefix string, n int) {
	t.Helper()
	db := testdb.SharedOwner(t)
	for start := 0; start < n; start += 500 {
		var rows []string
		for i := start; i < min(start+500, n); i++ {
			rows = append(rows, fmt.Sprintf("('%s', '%s', '%s-%05d', now(), now())", uuid.NewString(), tenant, prefix, i))
		}
		if _, err := db.Exec("INSERT INTO assets (id, tenant_id, name, created_at, updated_at) VALUES " + strings.Join(rows, ", ")); err != nil {
			t.Fatalf("plant assets: %v", err)
		}
	}
}

// TestListTotalPastTheBound checks a listing past the exact bound over
// HTTP: the default total is flagged as an estimate, count=exact counts
// exactly, and each tenant's total, estimate or exact, holds its own rows
// only, whichever tenant listed first.
func TestListTotalPastTheBound(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	nA, nB := domain.TotalBound+3, domain.TotalBound+11
	plantAssets(t, e.a, "lc-big", nA)
	plantAssets(t, e.b, "lc-big", nB)
	type list struct {
		Assets   []map[string]any `json:"assets"`
		Total    int              `json:"total"`
		Estimate bool             `json:"total_is_estimate"`
		Next     *string          `json:"next_cursor"`
	}
	get := func(key, path string) list {
		t.Helper()
		var l list
		e.must(http.StatusOK, req{method: "GET", path: path, key: key}).json(t, &l)
		return l
	}
	first := get(e.keyA, "/api/v1/assets?limit=5")
	if first.Next == nil {
		t.Fatal("the first page has no next_cursor")
	}
	for _, tc := range []struct {
		name, key, path string
		total           int
		estimate        bool
	}{
		{"A, default", e.keyA, "/api/v1/assets?limit=5", nA, true},
		{"B, default (after A)", e.keyB, "/api/v1/assets?limit=5", nB, true},
		{"A, count=exact", e.keyA, "/api/v1/assets?limit=5&count=exact", nA, false},
		{"B, count=exact", e.keyB, "/api/v1/assets?limit=5&count=exact", nB, false},
		{"A, count=estimate", e.keyA, "/api/v1/assets?limit=5&count=estimate", nA, true},
		{"A, by cursor", e.keyA, "/api/v1/assets?limit=5&cursor=" + *first.Next, nA, true},
		{"A, within the bound past the offset", e.keyA, "/api/v1/assets?limit=5&offset=10", nA, false},
		{"A, last page", e.keyA, fmt.Sprintf("/api/v1/assets?limit=5&offset=%d", nA-2), nA, false},
		{"A, a filter matching none", e.keyA, "/api/v1/assets?limit=5&asset_type=view", 0, false},
	} {
		l := get(tc.key, tc.path)
		if l.Total != tc.total || l.Estimate != tc.estimate {
			t.Errorf("%s: total %d (estimate %v), want %d (estimate %v)", tc.name, l.Total, l.Estimate, tc.total, tc.estimate)
		}
		for _, a := range l.Assets {
			if strings.HasPrefix(tc.name, "A") && a["tenant_id"] != e.a || strings.HasPrefix(tc.name, "B") && a["tenant_id"] != e.b {
				t.Fatalf("%s: listed %v of tenant %v", tc.name, a["name"], a["tenant_id"])
			}
		}
	}
}
