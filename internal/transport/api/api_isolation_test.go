package api_test

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestAPICrossTenantMatrix walks the router's own route table, so a new
// route cannot escape it: tenant B calls every /api/v1 route with each of
// tenant A's ids and must get 404 (403 on admin routes), lists must hold none
// of A's rows, and A's data must read the same afterwards.
func TestAPICrossTenantMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Tenant A's world.
	up, down := e.asset(e.keyA, "a-up"), e.asset(e.keyA, "a-down")
	var dep depBody
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": up, "downstream": down}}).json(t, &dep)
	var wf struct {
		Workflow struct{ ID string } `json:"workflow"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "a-flow", "assets": []string{up, down}}}).json(t, &wf)
	var trig struct {
		RunID string `json:"run_id"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/workflows/a-flow/trigger", key: e.keyA}).json(t, &trig)
	e.waitStatus(e.keyA, trig.RunID) // A's run settles before the snapshot
	var sched struct {
		Schedule struct{ ID string } `json:"schedule"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/schedules", key: e.keyA, body: map[string]any{"name": "a-sched", "workflow": "a-flow", "cron": "0 2 * * *"}}).json(t, &sched)
	var auto struct {
		Automation struct{ ID string } `json:"automation"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/automations", key: e.keyA, body: map[string]any{"name": "a-auto", "on": "upstream_updated", "assets": []string{"a-up"}, "asset": "a-down"}}).json(t, &auto)
	var keys struct {
		Keys []struct{ ID string } `json:"keys"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/tenants/" + e.a + "/keys", key: adminKey}).json(t, &keys)
	var colDep struct {
		ColumnDependency struct{ ID string } `json:"column_dependency"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/column-dependencies", key: e.keyA,
		body: map[string]any{"upstream": up, "upstream_column": "x", "downstream": down, "downstream_column": "y"}}).json(t, &colDep)
	// A data-quality check on A's asset, with a result on A's run.
	var chk struct{ ID string }
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/checks", key: e.keyA, body: map[string]any{
		"asset_id": up, "name": "a-check", "check_type": map[string]any{"type": "not_null", "columns": []string{"id"}}}}).json(t, &chk)
	// A's step of a-up reports the check failed, so a-up is a failing asset.
	var wrun struct {
		Steps []struct {
			ID        string `json:"id"`
			AssetName string `json:"asset_name"`
		} `json:"steps"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflow-runs/" + trig.RunID, key: e.keyA}).json(t, &wrun)
	for _, st := range wrun.Steps {
		if st.AssetName == "a-up" {
			e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/runs/" + st.ID + "/check-results", key: e.keyA,
				body: map[string]any{"check_results": []any{map[string]any{"check_name": "a-check", "status": "failed"}}}})
		}
	}
	if res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/checks/failing?asset_ids=" + up + "," + down, key: e.keyA}); !strings.Contains(string(res.body), up) {
		t.Fatalf("A's failing assets: %s, want a-up", res.body)
	}
	var bf struct {
		Backfill struct{ ID string } `json:"backfill"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/backfills", key: e.keyA, body: map[string]any{"asset": "a-down", "partition_keys": []string{"p1"}}}).json(t, &bf)
	e.waitBackfill(e.keyA, bf.Backfill.ID) // it settles before the snapshot
	// Tenant B has data of its own, so lists are not trivially empty.
	e.asset(e.keyB, "b-own")

	aIDs := []string{up, down, dep.Dependency.ID, wf.Workflow.ID, trig.RunID, bf.Backfill.ID, sched.Schedule.ID, auto.Automation.ID, keys.Keys[0].ID, e.a}
	snapshotA := func() string {
		var sb strings.Builder
		for _, p := range []string{"/api/v1/assets/" + up, "/api/v1/assets/" + down, "/api/v1/dependencies/" + dep.Dependency.ID,
			"/api/v1/workflows/" + wf.Workflow.ID, "/api/v1/runs/" + trig.RunID, "/api/v1/assets/" + up + "/lineage",
			"/api/v1/tenants/" + e.a + "/keys", "/api/v1/column-dependencies/" + colDep.ColumnDependency.ID,
			"/api/v1/assets/" + up + "/columns/x/lineage",
			"/api/v1/checks/" + chk.ID, "/api/v1/checks/" + chk.ID + "/results",
			"/api/v1/assets/" + up + "/checks", "/api/v1/runs/" + trig.RunID + "/check-results",
			"/api/v1/backfills/" + bf.Backfill.ID + "/partitions",
			"/api/v1/schedules/" + sched.Schedule.ID, "/api/v1/schedules/a-sched/ticks",
			"/api/v1/automations/" + auto.Automation.ID, "/api/v1/automations/a-auto/evaluations"} {
			key := e.keyA
			if strings.HasPrefix(p, "/api/v1/tenants") {
				key = adminKey
			}
			sb.Write(e.must(http.StatusOK, req{method: "GET", path: p, key: key}).body)
		}
		return sb.String()
	}
	before := snapshotA()

	// Each path parameter, filled with one of A's ids (and names, where a
	// name is accepted).
	params := map[string][]string{
		":asset":    {up, "a-up"},
		":workflow": {wf.Workflow.ID, "a-flow"},
		":tenant":   {e.a},
		// Second parameters of a route: a version, a column of A's.
		":version":    {"1"},
		":column":     {"x"},
		":schedule":   {sched.Schedule.ID, "a-sched"},
		":automation": {auto.Automation.ID, "a-auto"},
	}
	idFor := func(path string) []string {
		switch {
		case strings.HasPrefix(path, "/api/v1/dependencies/"):
			return []string{dep.Dependency.ID}
		case strings.HasPrefix(path, "/api/v1/column-dependencies/"):
			return []string{colDep.ColumnDependency.ID}
		case strings.HasPrefix(path, "/api/v1/keys/"):
			return []string{keys.Keys[0].ID}
		case strings.HasPrefix(path, "/api/v1/checks/"):
			return []string{chk.ID}
		case strings.HasPrefix(path, "/api/v1/runs/"), strings.HasPrefix(path, "/api/v1/executions/"), strings.HasPrefix(path, "/api/v1/workflow-runs/"):
			return []string{trig.RunID}
		case strings.HasPrefix(path, "/api/v1/backfills/"):
			return []string{bf.Backfill.ID}
		}
		return nil
	}
	// Bodies that would be accepted from A, for the routes that take one.
	bodies := map[string]any{
		"POST /api/v1/assets":                      map[string]any{"name": "b-new-asset"},
		"PATCH /api/v1/assets/:asset":              map[string]any{"description": "defaced"},
		"POST /api/v1/dependencies":                map[string]any{"upstream": up, "downstream": down, "dependency_type": "control"},
		"POST /api/v1/column-dependencies":         map[string]any{"upstream": up, "upstream_column": "x", "downstream": down, "downstream_column": "z"},
		"POST /api/v1/workflows":                   map[string]any{"name": "b-flow", "assets": []string{up}},
		"PATCH /api/v1/workflows/:workflow":        map[string]any{"owner": "b"},
		"POST /api/v1/workflows/:workflow/trigger": map[string]any{},
		"POST /api/v1/materialize":                 map[string]any{"asset_name": "a-up"},
		"POST /api/v1/tenants":                     map[string]any{"id": e.a},
		"POST /api/v1/tenants/:tenant/keys":        map[string]any{},
		"POST /api/v1/checks": map[string]any{"asset_id": up, "name": "b-check",
			"check_type": map[string]any{"type": "not_null", "columns": []string{"id"}}},
		"PATCH /api/v1/checks/:id": map[string]any{"description": "defaced", "enabled": false},
		"POST /api/v1/assets/:asset/checks/sync": map[string]any{"prune": true, "checks": []any{map[string]any{"name": "a-check",
			"check_type": map[string]any{"type": "unique", "columns": []string{"x"}}}}},
		"POST /api/v1/runs/:id/check-results":         map[string]any{"check_results": []any{map[string]any{"check_name": "a-check", "status": "failed"}}},
		"POST /api/v1/executions/:id/check-results":   map[string]any{"check_results": []any{map[string]any{"check_name": "a-check", "status": "failed"}}},
		"POST /api/v1/backfills":                      map[string]any{"asset": "a-down", "partition_keys": []string{"p2"}},
		"POST /api/v1/assets/:asset/partition-keys":   map[string]any{"keys": []string{"x"}},
		"DELETE /api/v1/assets/:asset/partition-keys": map[string]any{"keys": []string{"x"}},
		"POST /api/v1/schedules":                      map[string]any{"name": "b-sched", "workflow": "a-flow", "cron": "0 2 * * *"},
		"PATCH /api/v1/schedules/:schedule":           map[string]any{"enabled": false},
		"POST /api/v1/automations":                    map[string]any{"name": "b-auto", "on": "upstream_updated", "assets": []string{"a-up"}, "asset": "a-down"},
		"PATCH /api/v1/automations/:automation":       map[string]any{"enabled": false},
	}
	// Routes without ids: what B may get, and it must not hold A's ids.
	noParam := map[string]int{
		"GET /api/v1/assets":               200,
		"POST /api/v1/assets":              201, // B's own asset
		"POST /api/v1/dependencies":        404,
		"POST /api/v1/column-dependencies": 404,
		"GET /api/v1/workflows":            200,
		"POST /api/v1/workflows":           422, // A's asset is "not found" as input
		"POST /api/v1/materialize":         404,
		"GET /api/v1/runs":                 200,
		"GET /api/v1/executions":           200,
		"GET /api/v1/tenants":              403,
		"POST /api/v1/tenants":             403,
		"GET /api/v1/checks":               200,
		"GET /api/v1/checks/failing":       200,
		"POST /api/v1/checks":              404, // A's asset is not found
		"POST /api/v1/backfills":           404, // A's asset is not found
		"GET /api/v1/backfills":            200,
		"GET /api/v1/schedules":            200,
		"POST /api/v1/schedules":           422, // A's workflow is "not found" as input
		"GET /api/v1/automations":          200,
		"POST /api/v1/automations":         422, // A's assets are "not found" as input
	}
	// OpenLineage events: B gets runs, assets and a workflow of its own,
	// and A's stay as they were.
	bodies["POST /api/v1/lineage"] = olMatrixEvent()
	bodies["POST /api/v1/lineage/batch"] = []any{olMatrixEvent(), olMatrixEvent()}
	noParam["POST /api/v1/lineage"] = 201
	noParam["POST /api/v1/lineage/batch"] = 200
	admin := regexp.MustCompile(`^/api/v1/(tenants|keys)`)
	paramRe := regexp.MustCompile(`:[a-z]+`)

	var checked []string
	for _, r := range e.srv.Echo().Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/health" || r.Path == "/api/v1/openapi.json" || r.Method == "echo_route_not_found" {
			continue
		}
		route := r.Method + " " + r.Path
		names := paramRe.FindAllString(r.Path, -1)
		if len(names) == 0 {
			want, ok := noParam[route]
			if !ok {
				t.Errorf("route %s is not in the matrix: classify it", route)
				continue
			}
			res := e.do(req{method: r.Method, path: r.Path, key: e.keyB, body: bodies[route]})
			if res.status != want {
				t.Errorf("%s as B: status %d, want %d: %s", route, res.status, want, res.body)
			}
			for _, id := range aIDs[:8] {
				if strings.Contains(string(res.body), id) {
					t.Errorf("%s as B: the answer holds A's id %s", route, id)
				}
			}
			checked = append(checked, route)
			continue
		}
		var values []string
		if len(names) > 2 {
			t.Errorf("route %s has %d parameters; extend the matrix", route, len(names))
			continue
		}
		if names[0] == ":id" {
			values = idFor(r.Path)
		} else {
			values = params[names[0]]
		}
		if len(values) == 0 {
			t.Errorf("route %s: no tenant-A value for %s; extend the matrix", route, names[0])
			continue
		}
		want := http.StatusNotFound
		if admin.MatchString(r.Path) {
			want = http.StatusForbidden
		}
		for _, v := range values {
			path := strings.Replace(r.Path, names[0], v, 1)
			for _, n := range names[1:] {
				path = strings.Replace(path, n, params[n][0], 1)
			}
			res := e.do(req{method: r.Method, path: path, key: e.keyB, body: bodies[route]})
			if res.status != want {
				t.Errorf("%s %s as B: status %d, want %d: %s", r.Method, path, res.status, want, res.body)
				continue
			}
			if body := res.errBody(t); want == http.StatusNotFound && body.Message != "not found" {
				t.Errorf("%s %s as B: message %q hints at more than absence", r.Method, path, body.Message)
			}
		}
		checked = append(checked, route)
	}
	sort.Strings(checked)
	if len(checked) < 30 {
		t.Fatalf("only %d routes checked: %v", len(checked), checked)
	}
	if after := snapshotA(); after != before {
		t.Fatalf("A's data changed:\nbefore %s\nafter  %s", before, after)
	}

	// B's checks: none of A's, and none counted.
	var bChecks struct {
		Checks []struct{ ID string } `json:"checks"`
		Total  int64                 `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/checks", key: e.keyB}).json(t, &bChecks)
	if len(bChecks.Checks) != 0 || bChecks.Total != 0 {
		t.Errorf("B lists checks %+v (total %d), want none", bChecks.Checks, bChecks.Total)
	}
	for _, ref := range []string{up, "a-up"} {
		if res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/checks?asset_id=" + ref, key: e.keyB}); strings.Contains(string(res.body), chk.ID) ||
			!strings.Contains(string(res.body), `"checks":[],"total":0`) {
			t.Errorf("B lists the checks of A's asset %s: %s", ref, res.body)
		}
	}
	if res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/checks/failing?asset_ids=" + up, key: e.keyB}); string(res.body) != `{"asset_ids":[]}`+"\n" {
		t.Errorf("B asks which of A's assets fail: %s", res.body)
	}

	// Lists as B, with filters naming A's things, hold none of A's rows.
	for _, p := range []string{"/api/v1/assets?q=a-", "/api/v1/runs?asset_name=a-up", "/api/v1/runs?workflow_name=a-flow", "/api/v1/workflows", "/api/v1/backfills", "/api/v1/runs?partition_key=p1", "/api/v1/schedules", "/api/v1/automations"} {
		res := e.must(http.StatusOK, req{method: "GET", path: p, key: e.keyB})
		for _, id := range aIDs[:8] {
			if strings.Contains(string(res.body), id) {
				t.Errorf("%s as B holds A's id %s", p, id)
			}
		}
		if strings.Contains(string(res.body), `"a-`) {
			t.Errorf("%s as B holds A's names: %s", p, res.body)
		}
	}
}
