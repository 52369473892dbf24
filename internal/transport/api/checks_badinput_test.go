package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestChecksBadInputOnEveryField sends bad input for every field of every
// check route: each gets its 4xx naming the field, and nothing changes.
func TestChecksBadInputOnEveryField(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := checksEnv(t, backend)
			assetID := e.asset(e.keyA, "bad-in")
			var chk struct{ ID string }
			e.sdk(http.StatusCreated, e.keyA, e.a, "POST", "/api/v1/checks", map[string]any{"asset_id": assetID, "name": "gate",
				"check_type": map[string]any{"type": "not_null", "columns": []string{"id"}}}).json(t, &chk)
			var trig struct {
				RunID string `json:"run_id"`
			}
			e.sdk(http.StatusAccepted, e.keyA, e.a, "POST", "/api/v1/materialize", map[string]any{"asset_name": "bad-in"}).json(t, &trig)
			e.waitStatus(e.keyA, trig.RunID)
			snapshot := func() string {
				var sb strings.Builder
				for _, p := range []string{"/api/v1/checks?limit=500", "/api/v1/checks/" + chk.ID,
					"/api/v1/runs/" + trig.RunID + "/check-results?attempts=all", "/api/v1/checks/" + chk.ID + "/results"} {
					sb.Write(e.sdk(http.StatusOK, e.keyA, e.a, "GET", p, nil).body)
				}
				return sb.String()
			}
			before := snapshot()

			ct := `"check_type":{"type":"not_null","columns":["id"]}`
			base := `"asset_id":"` + assetID + `","name":"n2",` + ct
			checksPath, one := "/api/v1/checks", "/api/v1/checks/"+chk.ID
			sync := "/api/v1/assets/bad-in/checks/sync"
			results := "/api/v1/runs/" + trig.RunID + "/check-results"
			for _, c := range []struct {
				name, method, path, body string
				want                     int
				field                    string // a details key the answer must hold; "" for none
			}{
				// POST /checks, field by field.
				{"no asset_id", "POST", checksPath, `{"name":"n2",` + ct + `}`, 422, "asset_id"},
				{"asset_id number", "POST", checksPath, `{"asset_id":5,"name":"n2",` + ct + `}`, 400, "asset_id"},
				{"asset_id unknown", "POST", checksPath, `{"asset_id":"00000000-0000-0000-0000-000000000000","name":"n2",` + ct + `}`, 404, ""},
				{"no name", "POST", checksPath, `{"asset_id":"` + assetID + `",` + ct + `}`, 422, "name"},
				{"name too long", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"` + strings.Repeat("n", 256) + `",` + ct + `}`, 422, "name"},
				{"name control char", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"a\u0007b",` + ct + `}`, 422, "name"},
				{"name number", "POST", checksPath, `{"asset_id":"` + assetID + `","name":1,` + ct + `}`, 400, "name"},
				{"description number", "POST", checksPath, `{` + base + `,"description":1}`, 400, "description"},
				{"description too long", "POST", checksPath, `{` + base + `,"description":"` + strings.Repeat("d", 10001) + `"}`, 422, "description"},
				{"no check_type", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"n2"}`, 422, "check_type"},
				{"check_type unknown", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"n2","check_type":{"type":"vibes"}}`, 422, "check_type.type"},
				{"check_type missing field", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"n2","check_type":{"type":"not_null"}}`, 422, "check_type.columns"},
				{"check_type bad regex", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"n2","check_type":{"type":"regex","column":"x","pattern":"a{2,1}"}}`, 422, "check_type.pattern"},
				{"check_type array", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"n2","check_type":[]}`, 422, "check_type"},
				{"severity unknown", "POST", checksPath, `{` + base + `,"severity":"fatal"}`, 422, "severity"},
				{"severity number", "POST", checksPath, `{` + base + `,"severity":3}`, 400, "severity"},
				{"blocking string", "POST", checksPath, `{` + base + `,"blocking":"yes"}`, 400, "blocking"},
				{"enabled string", "POST", checksPath, `{` + base + `,"enabled":"no"}`, 400, "enabled"},
				{"tags string", "POST", checksPath, `{` + base + `,"tags":"a"}`, 400, "tags"},
				{"tags duplicate", "POST", checksPath, `{` + base + `,"tags":["a","a"]}`, 422, "tags"},
				{"owner number", "POST", checksPath, `{` + base + `,"owner":1}`, 400, "owner"},
				{"owner too long", "POST", checksPath, `{` + base + `,"owner":"` + strings.Repeat("o", 256) + `"}`, 422, "owner"},
				{"unknown field", "POST", checksPath, `{` + base + `,"tenant_id":"other"}`, 400, "tenant_id"},
				{"duplicate name", "POST", checksPath, `{"asset_id":"` + assetID + `","name":"gate",` + ct + `}`, 409, ""},
				{"malformed", "POST", checksPath, `{"name":`, 400, ""},
				// GET /checks query parameters.
				{"severity filter", "GET", checksPath + "?severity=fatal", ``, 422, "severity"},
				{"enabled_only filter", "GET", checksPath + "?enabled_only=maybe", ``, 400, "enabled_only"},
				{"limit", "GET", checksPath + "?limit=0", ``, 400, "limit"},
				{"cursor", "GET", checksPath + "?cursor=zzz", ``, 400, "cursor"},
				// Paths.
				{"id not a uuid", "GET", checksPath + "/nope", ``, 400, "id"},
				{"results id not a uuid", "GET", checksPath + "/nope/results", ``, 400, "id"},
				{"results limit", "GET", one + "/results?limit=100000", ``, 400, "limit"},
				// PATCH, field by field.
				{"patch name empty", "PATCH", one, `{"name":""}`, 422, "name"},
				{"patch check_type", "PATCH", one, `{"check_type":{"type":"unique","columns":[]}}`, 422, "check_type.columns"},
				{"patch severity", "PATCH", one, `{"severity":"fatal"}`, 422, "severity"},
				{"patch blocking", "PATCH", one, `{"blocking":1}`, 400, "blocking"},
				{"patch enabled", "PATCH", one, `{"enabled":null,"tags":"x"}`, 400, "tags"},
				{"patch asset", "PATCH", one, `{"asset_id":"nope"}`, 422, "asset_id"},
				{"patch owner", "PATCH", one, `{"owner":"` + strings.Repeat("o", 256) + `"}`, 422, "owner"},
				{"patch unknown", "PATCH", one, `{"id":"x"}`, 400, "id"},
				{"patch stale", "PATCH", one, `{"owner":"x"}`, 412, ""},
				// Sync.
				{"sync no checks", "POST", sync, `{"prune":true}`, 422, "checks"},
				{"sync checks object", "POST", sync, `{"checks":{}}`, 400, "checks"},
				{"sync prune string", "POST", sync, `{"checks":[],"prune":"yes"}`, 400, "prune"},
				{"sync bad entry", "POST", sync, `{"checks":[{"name":"x","check_type":{"type":"in_range","column":"c"}}],"prune":true}`, 422, "checks[0].check_type.min"},
				{"sync other asset", "POST", sync, `{"checks":[{"asset_id":"elsewhere","name":"x",` + ct + `}],"prune":true}`, 422, "checks[0].asset_id"},
				{"sync repeated", "POST", sync, `{"checks":[{"name":"x",` + ct + `},{"name":"x",` + ct + `}],"prune":true}`, 422, "checks[1].name"},
				{"sync unknown asset", "POST", "/api/v1/assets/nope/checks/sync", `{"checks":[],"prune":true}`, 404, ""},
				// Posted results.
				{"results missing", "POST", results, `{}`, 422, "check_results"},
				{"results object", "POST", results, `{"check_results":{}}`, 422, "check_results"},
				{"results empty", "POST", results, `{"check_results":[]}`, 422, "check_results"},
				{"result unknown name", "POST", results, `{"check_results":[{"check_name":"nope","status":"passed"}]}`, 422, "check_results[0].check_name"},
				{"result no name", "POST", results, `{"check_results":[{"status":"passed"}]}`, 422, "check_results[0].check_name"},
				{"result no status", "POST", results, `{"check_results":[{"check_name":"gate"}]}`, 422, "check_results[0].status"},
				{"result bad status", "POST", results, `{"check_results":[{"check_name":"gate","status":"meh"}]}`, 422, "check_results[0].status"},
				{"result rows_checked", "POST", results, `{"check_results":[{"check_name":"gate","status":"passed","rows_checked":-1}]}`, 422, "check_results[0].rows_checked"},
				{"result rows_failed", "POST", results, `{"check_results":[{"check_name":"gate","status":"passed","rows_failed":"x"}]}`, 422, "check_results[0].rows_failed"},
				{"result duration", "POST", results, `{"check_results":[{"check_name":"gate","status":"passed","duration_ms":-5}]}`, 422, "check_results[0].duration_ms"},
				{"result message", "POST", results, `{"check_results":[{"check_name":"gate","status":"passed","message":7}]}`, 422, "check_results[0].message"},
				{"result details too big", "POST", results, `{"check_results":[{"check_name":"gate","status":"failed","details":"` + strings.Repeat("x", 70000) + `"}]}`, 422, "check_results[0].details"},
				{"result executed_at", "POST", results, `{"check_results":[{"check_name":"gate","status":"passed","executed_at":"yesterday"}]}`, 422, "check_results[0].executed_at"},
				{"results to a missing run", "POST", "/api/v1/runs/00000000-0000-0000-0000-000000000000/check-results", `{"check_results":[{"check_name":"gate","status":"passed"}]}`, 404, ""},
				{"results run not a uuid", "POST", "/api/v1/runs/nope/check-results", `{"check_results":[]}`, 400, "id"},
				{"results attempts", "GET", results + "?attempts=2", ``, 400, "attempts"},
			} {
				t.Run(c.name, func(t *testing.T) {
					headers := map[string]string{"X-Tenant-ID": e.a, "Content-Type": "application/json"}
					if c.want == http.StatusPreconditionFailed {
						headers["If-Match"] = `"stale"`
					}
					res := e.do(req{method: c.method, path: c.path, key: e.keyA, body: c.body, headers: headers})
					if res.status != c.want {
						t.Fatalf("status %d, want %d: %s", res.status, c.want, res.body)
					}
					body := res.errBody(t)
					if c.field != "" && body.Details[c.field] == nil {
						t.Errorf("details %v lack %q", body.Details, c.field)
					}
				})
			}
			if after := snapshot(); after != before {
				t.Errorf("bad input changed the checks:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
