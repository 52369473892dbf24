package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// checksEnv is an env on the given backend ("postgres" or "sqlite") with a
// runtime working runs and freshness recorded as servo serve records it:
// the API answers the same on both.
func checksEnv(t *testing.T, backend string) *env {
	t.Helper()
	var st *repository.Store
	if backend == "postgres" {
		st = testdb.Open(t, testdb.Shared(t))
	} else {
		st = testdb.OpenSQLite(t)
	}
	db := runtime.DB{Pool: st.SQLDB(), Postgres: backend == "postgres", TxFrom: repository.SQLTx}
	rcfg := runtime.Config{
		Policy:            runtime.Policy{Commands: []string{"/bin/echo"}},
		FetchPollInterval: 50 * time.Millisecond, WaitPoll: 50 * time.Millisecond, CancelPoll: 100 * time.Millisecond,
		Lease: time.Minute, Queue: "chk_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16],
	}
	d, err := runtime.NewDispatcher(db, rcfg.Queue, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, d, rcfg.ComputePolicy())
	rt, err := runtime.New(svc, svc.Engine(), d, rcfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	})
	srv, err := api.New(api.Config{}, api.Deps{DB: st, Log: zap.NewNop(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	fresh := freshness.New(st, nil)
	svc.ObserveRuns(fresh)
	srv.MountAPI(svc, api.APIOptions{AdminKey: adminKey, Freshness: fresh})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, url: ts.URL, svc: svc, srv: srv, a: testdb.TenantID("chka"), b: testdb.TenantID("chkb")}
	sys := domain.WithSystem(context.Background())
	for _, k := range []struct {
		tenant string
		dst    *string
	}{{e.a, &e.keyA}, {e.b, &e.keyB}} {
		secret, _, err := svc.CreateAPIKey(sys, service.CreateAPIKeyInput{TenantID: k.tenant, CreateTenant: true})
		if err != nil {
			t.Fatal(err)
		}
		*k.dst = secret
	}
	return e
}

// sdk sends a request exactly as the servo SDK's ServoClient does: the
// bearer key, X-Tenant-ID and Content-Type: application/json on every call,
// GET and DELETE included.
func (e *env) sdk(want int, key, tenant, method, path string, body any) resp {
	e.t.Helper()
	return e.must(want, req{method: method, path: path, key: key, body: body, headers: map[string]string{
		"X-Tenant-ID": tenant, "Content-Type": "application/json",
	}})
}

// sdkCheck is the flat check object the SDK reads.
type sdkCheck struct {
	ID          string         `json:"id"`
	AssetID     string         `json:"asset_id"`
	AssetName   string         `json:"asset_name"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	CheckType   map[string]any `json:"check_type"`
	Severity    string         `json:"severity"`
	Blocking    bool           `json:"blocking"`
	Enabled     bool           `json:"enabled"`
	Tags        []string       `json:"tags"`
	Owner       string         `json:"owner"`
	CreatedAt   string         `json:"created_at"`
	UpdatedAt   string         `json:"updated_at"`
}

type sdkCheckList struct {
	Checks     []sdkCheck `json:"checks"`
	Total      int64      `json:"total"`
	Limit      int        `json:"limit"`
	Offset     int        `json:"offset"`
	NextCursor *string    `json:"next_cursor"`
}

type sdkResult struct {
	ID          string         `json:"id"`
	RunID       string         `json:"run_id"`
	Attempt     int            `json:"attempt"`
	CheckID     *string        `json:"check_id"`
	CheckName   string         `json:"check_name"`
	Outcome     string         `json:"outcome"`
	Status      string         `json:"status"`
	Severity    string         `json:"severity"`
	Blocking    bool           `json:"blocking"`
	Blocked     bool           `json:"blocked"`
	RowsChecked *int64         `json:"rows_checked"`
	RowsFailed  *int64         `json:"rows_failed"`
	Message     string         `json:"message"`
	Details     map[string]any `json:"details"`
	DurationMS  *int64         `json:"duration_ms"`
	Source      string         `json:"source"`
	AssetName   string         `json:"asset_name"`
}

type sdkResults struct {
	Results []sdkResult `json:"results"`
}

// deployBodies are what the SDK's deploy_checks sends for an asset: one
// POST /api/v1/checks per check.
func deployBodies(assetID string) []map[string]any {
	return []map[string]any{
		{"asset_id": assetID, "name": "customer_id_not_null", "description": "ids are present",
			"check_type": map[string]any{"type": "not_null", "columns": []string{"customer_id", "email"}}, "severity": "error", "blocking": true},
		{"asset_id": assetID, "name": "customer_id_unique", "description": "",
			"check_type": map[string]any{"type": "unique", "columns": []string{"customer_id"}}, "severity": "error", "blocking": true,
			"enabled": true, "tags": []string{"pii"}, "owner": "data-team"},
		{"asset_id": assetID, "name": "amount_range", "description": "amounts are sane",
			"check_type": map[string]any{"type": "in_range", "column": "amount", "min": 0, "max": 10000}, "severity": "warning", "blocking": false},
		{"asset_id": assetID, "name": "email_format", "description": "",
			"check_type": map[string]any{"type": "regex", "column": "email", "pattern": `^[^@\s]+@[^@\s]+$`}, "severity": "info", "blocking": false},
	}
}

func TestChecksSDKFlow(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := checksEnv(t, backend)
			assetID := e.asset(e.keyA, "customers")
			sdk := func(want int, method, path string, body any) resp {
				return e.sdk(want, e.keyA, e.a, method, path, body)
			}

			// Deploy: every check is created, flat, with the defaults.
			ids := map[string]string{}
			for _, b := range deployBodies(assetID) {
				var c sdkCheck
				res := sdk(http.StatusCreated, "POST", "/api/v1/checks", b)
				res.json(t, &c)
				if c.ID == "" || c.AssetID != assetID || c.AssetName != "customers" || c.Name != b["name"] ||
					c.Description != b["description"] || c.Severity != b["severity"] || c.Blocking != b["blocking"] ||
					!c.Enabled || c.Tags == nil || c.CreatedAt == "" || c.UpdatedAt == "" || c.CheckType["type"] == nil {
					t.Fatalf("created check %s: %s", b["name"], res.body)
				}
				ids[c.Name] = c.ID
			}
			if c := ids["customer_id_unique"]; c == "" {
				t.Fatal("no id for customer_id_unique")
			}
			// Defaults: severity error, blocking and enabled true.
			var def sdkCheck
			sdk(http.StatusCreated, "POST", "/api/v1/checks", map[string]any{"asset_id": assetID, "name": "rows",
				"description": "", "check_type": map[string]any{"type": "row_count", "min": 1}}).json(t, &def)
			if def.Severity != "error" || !def.Blocking || !def.Enabled || def.Owner != "" || len(def.Tags) != 0 {
				t.Fatalf("defaults: %+v", def)
			}
			ids[def.Name] = def.ID

			// A second deploy gets 409 for each check and duplicates nothing.
			for _, b := range deployBodies(assetID) {
				res := sdk(http.StatusConflict, "POST", "/api/v1/checks", b)
				if body := res.errBody(t); body.Code != api.CodeConflict {
					t.Fatalf("second deploy: %s", res.body)
				}
			}
			var list sdkCheckList
			sdk(http.StatusOK, "GET", "/api/v1/checks?asset_id="+assetID, nil).json(t, &list)
			if list.Total != 5 || len(list.Checks) != 5 || list.Limit != domain.DefaultLimit || list.Offset != 0 || list.NextCursor != nil {
				t.Fatalf("list after two deploys: total %d, %d checks", list.Total, len(list.Checks))
			}

			// List filters: enabled_only and severity.
			sdk(http.StatusOK, "GET", "/api/v1/checks?asset_id="+assetID+"&enabled_only=true&severity=error", nil).json(t, &list)
			var names []string
			for _, c := range list.Checks {
				names = append(names, c.Name)
			}
			slices.Sort(names)
			if want := []string{"customer_id_not_null", "customer_id_unique", "rows"}; !slices.Equal(names, want) || list.Total != 3 {
				t.Fatalf("severity=error: %v (total %d), want %v", names, list.Total, want)
			}

			// GET one, then PATCH with its ETag; a stale ETag is 412.
			res := sdk(http.StatusOK, "GET", "/api/v1/checks/"+ids["amount_range"], nil)
			tag := res.header.Get("ETag")
			var got sdkCheck
			res.json(t, &got)
			if got.CheckType["type"] != "in_range" || got.CheckType["max"] != float64(10000) || tag == "" {
				t.Fatalf("get: %s (etag %q)", res.body, tag)
			}
			var upd sdkCheck
			e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/checks/" + ids["amount_range"], key: e.keyA,
				headers: map[string]string{"X-Tenant-ID": e.a, "If-Match": tag},
				body:    map[string]any{"severity": "error", "blocking": true, "check_type": map[string]any{"type": "in_range", "column": "amount", "max": 500}}}).json(t, &upd)
			if upd.Severity != "error" || !upd.Blocking || upd.CheckType["max"] != float64(500) || upd.CheckType["min"] != nil || upd.Name != "amount_range" {
				t.Fatalf("patched: %+v", upd)
			}
			e.must(http.StatusPreconditionFailed, req{method: "PATCH", path: "/api/v1/checks/" + ids["amount_range"], key: e.keyA,
				headers: map[string]string{"If-Match": tag}, body: map[string]any{"enabled": false}})
			sdk(http.StatusOK, "PATCH", "/api/v1/checks/"+ids["email_format"], map[string]any{"enabled": false, "tags": []string{"format"}, "owner": "qa", "description": "off for now", "name": "email_format_v2"})
			sdk(http.StatusConflict, "PATCH", "/api/v1/checks/"+ids["email_format"], map[string]any{"name": "rows"})

			// Delete: 204, then 404.
			sdk(http.StatusNoContent, "DELETE", "/api/v1/checks/"+ids["rows"], nil)
			sdk(http.StatusNotFound, "GET", "/api/v1/checks/"+ids["rows"], nil)
			sdk(http.StatusNotFound, "DELETE", "/api/v1/checks/"+ids["rows"], nil)

			// The asset's checks with their last outcomes (none yet).
			var ac struct {
				Checks []struct {
					sdkCheck
					LastOutcome *string `json:"last_outcome"`
				} `json:"checks"`
			}
			sdk(http.StatusOK, "GET", "/api/v1/assets/customers/checks", nil).json(t, &ac)
			if len(ac.Checks) != 4 || ac.Checks[0].LastOutcome != nil {
				t.Fatalf("asset checks: %+v", ac.Checks)
			}

			// Results of a run executed elsewhere, posted after it ended:
			// recorded, counted false, the run unchanged.
			var trig struct {
				RunID string `json:"run_id"`
			}
			sdk(http.StatusAccepted, "POST", "/api/v1/materialize", map[string]any{"asset_name": "customers"}).json(t, &trig)
			if run := e.waitStatus(e.keyA, trig.RunID); run.Status != "success" {
				t.Fatalf("materialization: %+v", run)
			}
			var posted struct {
				Results []sdkResult `json:"results"`
				Counted bool        `json:"counted"`
			}
			sdk(http.StatusCreated, "POST", "/api/v1/runs/"+trig.RunID+"/check-results", map[string]any{"check_results": []any{
				map[string]any{"check_name": "customer_id_not_null", "status": "failed", "message": "3 nulls", "rows_checked": 100, "rows_failed": 3,
					"details": map[string]any{"failed_samples": []any{map[string]any{"customer_id": nil, "email": "x@y"}}}, "duration_ms": 12.6},
			}}).json(t, &posted)
			if posted.Counted || len(posted.Results) != 1 || posted.Results[0].Blocked || posted.Results[0].DurationMS == nil || *posted.Results[0].DurationMS != 13 {
				t.Fatalf("posted after the end: %+v", posted)
			}
			if run := e.waitStatus(e.keyA, trig.RunID); run.Status != "success" {
				t.Fatalf("a result posted after the end changed the run: %+v", run)
			}

			// Read results: the run's (latest attempt), and the check's history.
			var rr sdkResults
			sdk(http.StatusOK, "GET", "/api/v1/executions/"+trig.RunID+"/check-results", nil).json(t, &rr)
			byName := map[string][]sdkResult{}
			for _, r := range rr.Results {
				byName[r.CheckName] = append(byName[r.CheckName], r)
				if r.RunID != trig.RunID || r.Attempt != 1 || r.AssetName != "customers" || r.Status != r.Outcome {
					t.Errorf("result %+v", r)
				}
			}
			// The worker stored every enabled check the step did not report
			// as skipped; the disabled one has none; the posted one is there.
			for _, n := range []string{"customer_id_unique", "amount_range"} {
				if rs := byName[n]; len(rs) != 1 || rs[0].Outcome != "skipped" || rs[0].Blocked || rs[0].Source != "step" {
					t.Errorf("%s: %+v, want one skipped result", n, rs)
				}
			}
			if rs := byName["email_format_v2"]; len(rs) != 0 {
				t.Errorf("the disabled check has results %+v", rs)
			}
			nn := byName["customer_id_not_null"]
			if len(nn) != 2 {
				t.Fatalf("customer_id_not_null results: %+v", nn)
			}
			var hist sdkResults
			sdk(http.StatusOK, "GET", "/api/v1/checks/"+ids["customer_id_not_null"]+"/results", nil).json(t, &hist)
			if len(hist.Results) != 2 {
				t.Fatalf("history: %+v", hist.Results)
			}
			var failedOne *sdkResult
			for i := range hist.Results {
				if hist.Results[i].Outcome == "failed" {
					failedOne = &hist.Results[i]
				}
			}
			if failedOne == nil || failedOne.Message != "3 nulls" || *failedOne.RowsFailed != 3 || *failedOne.RowsChecked != 100 ||
				failedOne.Details["failed_samples"] == nil || failedOne.Severity != "error" || !failedOne.Blocking || failedOne.Source != "api" {
				t.Fatalf("posted result read back: %+v", failedOne)
			}
			sdk(http.StatusOK, "GET", "/api/v1/runs/"+trig.RunID+"/check-results?attempts=all", nil).json(t, &rr)
			if len(rr.Results) != 4 {
				t.Fatalf("attempts=all: %d results", len(rr.Results))
			}
			sdk(http.StatusBadRequest, "GET", "/api/v1/runs/"+trig.RunID+"/check-results?attempts=some", nil)

			// A deleted check keeps its history, without a check id.
			sdk(http.StatusNoContent, "DELETE", "/api/v1/checks/"+ids["customer_id_not_null"], nil)
			sdk(http.StatusOK, "GET", "/api/v1/runs/"+trig.RunID+"/check-results", nil).json(t, &rr)
			kept := 0
			for _, r := range rr.Results {
				if r.CheckName == "customer_id_not_null" {
					kept++
					if r.CheckID != nil {
						t.Errorf("a deleted check's result keeps check id %v", *r.CheckID)
					}
				}
			}
			if kept != 2 {
				t.Errorf("%d results of the deleted check remain, want 2", kept)
			}

			// Another tenant sees no check, no result, no count.
			var bl sdkCheckList
			e.sdk(http.StatusOK, e.keyB, e.b, "GET", "/api/v1/checks", nil).json(t, &bl)
			if bl.Total != 0 || len(bl.Checks) != 0 {
				t.Errorf("tenant B lists %+v", bl)
			}
			for _, p := range []string{"/api/v1/checks/" + ids["customer_id_unique"], "/api/v1/checks/" + ids["customer_id_unique"] + "/results",
				"/api/v1/runs/" + trig.RunID + "/check-results", "/api/v1/assets/" + assetID + "/checks"} {
				e.sdk(http.StatusNotFound, e.keyB, e.b, "GET", p, nil)
			}
			e.sdk(http.StatusOK, e.keyB, e.b, "GET", "/api/v1/checks?asset_id="+assetID, nil).json(t, &bl)
			if bl.Total != 0 || len(bl.Checks) != 0 {
				t.Errorf("tenant B lists the checks of A's asset: %+v", bl)
			}
			sdk(http.StatusOK, "GET", "/api/v1/checks?asset_id=no-such-asset", nil).json(t, &list)
			if list.Total != 0 || len(list.Checks) != 0 || list.Limit != domain.DefaultLimit {
				t.Errorf("the checks of a missing asset: %+v", list)
			}
			// The SDK's tenant header must be the key's tenant.
			e.sdk(http.StatusForbidden, e.keyB, e.a, "GET", "/api/v1/checks", nil)
		})
	}
}

func TestChecksSync(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := checksEnv(t, backend)
			assetID := e.asset(e.keyA, "orders")
			sdk := func(want int, method, path string, body any) resp {
				return e.sdk(want, e.keyA, e.a, method, path, body)
			}
			notNull := map[string]any{"name": "id_not_null", "check_type": map[string]any{"type": "not_null", "columns": []string{"id"}}}
			fresh := map[string]any{"name": "fresh", "check_type": map[string]any{"type": "freshness", "timestamp_column": "ts", "max_age_seconds": 3600}, "severity": "warning"}
			type syncRes struct {
				Created, Updated, Unchanged, Deleted []string
			}
			var r syncRes
			sdk(http.StatusOK, "POST", "/api/v1/assets/"+assetID+"/checks/sync", map[string]any{"checks": []any{notNull, fresh}, "prune": false}).json(t, &r)
			if !slices.Equal(r.Created, []string{"id_not_null", "fresh"}) || len(r.Updated)+len(r.Unchanged)+len(r.Deleted) != 0 {
				t.Fatalf("first sync: %+v", r)
			}
			sdk(http.StatusOK, "POST", "/api/v1/assets/orders/checks/sync", map[string]any{"checks": []any{notNull, fresh}}).json(t, &r)
			if !slices.Equal(r.Unchanged, []string{"id_not_null", "fresh"}) || len(r.Created)+len(r.Updated)+len(r.Deleted) != 0 {
				t.Fatalf("same sync again: %+v", r)
			}
			fresh["check_type"].(map[string]any)["max_age_seconds"] = 60
			sdk(http.StatusOK, "POST", "/api/v1/assets/orders/checks/sync", map[string]any{"checks": []any{fresh}, "prune": false}).json(t, &r)
			if !slices.Equal(r.Updated, []string{"fresh"}) || len(r.Deleted) != 0 {
				t.Fatalf("changed sync: %+v", r)
			}
			// A repeated name is 422 and changes nothing.
			res := sdk(http.StatusUnprocessableEntity, "POST", "/api/v1/assets/orders/checks/sync", map[string]any{"checks": []any{fresh, fresh}, "prune": true})
			if d := res.errBody(t).Details; d["checks[1].name"] == nil {
				t.Fatalf("repeated name: %s", res.body)
			}
			// A bad entry is 422 naming it, and nothing of the sync happens.
			bad := map[string]any{"name": "bad", "check_type": map[string]any{"type": "regex", "column": "x", "pattern": "(("}}
			res = sdk(http.StatusUnprocessableEntity, "POST", "/api/v1/assets/orders/checks/sync", map[string]any{"checks": []any{bad}, "prune": true})
			if d := res.errBody(t).Details; d["checks[0].check_type.pattern"] == nil {
				t.Fatalf("bad entry: %s", res.body)
			}
			var list sdkCheckList
			sdk(http.StatusOK, "GET", "/api/v1/checks?asset_id=orders", nil).json(t, &list)
			if list.Total != 2 {
				t.Fatalf("after refused syncs: %d checks", list.Total)
			}
			// Prune deletes what the list does not name.
			sdk(http.StatusOK, "POST", "/api/v1/assets/orders/checks/sync", map[string]any{"checks": []any{fresh}, "prune": true}).json(t, &r)
			if !slices.Equal(r.Deleted, []string{"id_not_null"}) || !slices.Equal(r.Unchanged, []string{"fresh"}) {
				t.Fatalf("prune: %+v", r)
			}
			sdk(http.StatusNotFound, "POST", "/api/v1/assets/nope/checks/sync", map[string]any{"checks": []any{}})
			e.sdk(http.StatusNotFound, e.keyB, e.b, "POST", "/api/v1/assets/"+assetID+"/checks/sync", map[string]any{"checks": []any{notNull}, "prune": true})
			sdk(http.StatusOK, "GET", "/api/v1/checks?asset_id=orders", nil).json(t, &list)
			if list.Total != 1 || list.Checks[0].Name != "fresh" || list.Checks[0].CheckType["max_age_seconds"] != float64(60) {
				t.Fatalf("after prune and B's attempt: %+v", list)
			}
		})
	}
}

func TestChecksResultsCounter(t *testing.T) {
	t.Parallel()
	e := checksEnv(t, "sqlite")
	e.asset(e.keyA, "counted")
	for _, c := range []map[string]any{
		{"asset_id": "counted", "name": "hard", "check_type": map[string]any{"type": "custom"}},
		{"asset_id": "counted", "name": "soft", "severity": "warning", "check_type": map[string]any{"type": "custom"}},
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/checks", key: e.keyA, body: c})
	}
	var trig struct {
		RunID string `json:"run_id"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: e.keyA, body: map[string]any{"asset_name": "counted"}}).json(t, &trig)
	e.waitStatus(e.keyA, trig.RunID) // stores both checks as skipped
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/runs/" + trig.RunID + "/check-results", key: e.keyA, body: map[string]any{
		"check_results": []any{map[string]any{"check_name": "hard", "status": "failed"}, map[string]any{"check_name": "soft", "status": "failed"},
			map[string]any{"check_name": "hard", "status": "failed"}}}})
	body := string(e.must(http.StatusOK, req{method: "GET", path: api.MetricsPath}).body)
	for _, want := range []string{
		`servo_check_results_total{outcome="failed",severity="error"} 2`,
		`servo_check_results_total{outcome="failed",severity="warning"} 1`,
		`servo_check_results_total{outcome="skipped",severity="error"} 1`,
		`servo_check_results_total{outcome="skipped",severity="warning"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
