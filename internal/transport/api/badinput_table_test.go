package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBadInputTable sends one request of every bad-input class and checks
// the exact 4xx, the error body and that nothing was written. It runs
// always; the fuzz targets in badinput_test.go explore around it.
func TestBadInputTable(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	up := e.asset(e.keyA, "bi-up")
	e.asset(e.keyA, "bi-down")
	e.asset(e.keyA, "abc")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "bi-flow", "assets": []string{up}}})

	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	name := func(n int) string { return strings.Repeat("é", n) } // runes, not bytes
	tenMB := `{"name":"big","description":"` + strings.Repeat("x", 10<<20) + `"}`
	type tc struct {
		name   string
		method string
		path   string
		body   string
		ctype  string // "" means application/json when there is a body
		want   int
	}
	assets := "/api/v1/assets"
	cases := []tc{
		// Malformed and truncated JSON.
		{"malformed", "POST", assets, `{"name":"x",}`, "", 400},
		{"truncated", "POST", assets, `{"name":"x"`, "", 400},
		{"truncated mid-string", "POST", assets, `{"name":"x`, "", 400},
		{"two values", "POST", assets, `{"name":"x"}{"name":"y"}`, "", 400},
		{"trailing garbage", "POST", assets, `{"name":"x"} 1`, "", 400},
		{"empty body", "POST", assets, ``, "", 400},
		{"not JSON media type", "POST", assets, `{"name":"x"}`, "text/plain", 415},
		{"bad media type", "POST", assets, `{"name":"x"}`, "application/json; charset", 415},
		// Wrong types.
		{"name number", "POST", assets, `{"name":1}`, "", 400},
		{"tags string", "POST", assets, `{"name":"x","tags":"a"}`, "", 400},
		{"global string", "POST", assets, `{"name":"x","global":"yes"}`, "", 400},
		{"body array", "POST", assets, `[]`, "", 400},
		{"body string", "POST", assets, `"x"`, "", 400},
		{"null body", "POST", assets, `null`, "", 422},
		{"patch wrong type", "PATCH", assets + "/bi-up", `{"description":5}`, "", 400},
		{"patch compute wrong type", "PATCH", assets + "/bi-up", `{"compute":"yes"}`, "", 400},
		// Unknown fields.
		{"unknown field", "POST", assets, `{"name":"x","tenant_id":"other"}`, "", 400},
		{"unknown nested field", "POST", assets, `{"name":"x","compute":{"kind":"command","argv":["/bin/echo"],"sudo":true}}`, "", 400},
		{"unknown patch field", "PATCH", assets + "/bi-up", `{"id":"00000000-0000-0000-0000-000000000000"}`, "", 400},
		// Deep nesting.
		{"nesting 10000", "POST", assets, `{"name":"x","tags":` + deep(10000) + `}`, "", 400},
		{"nesting 100000", "POST", assets, `{"name":"x","tags":` + deep(100000) + `}`, "", 400},
		{"lineage nesting 10000", "POST", "/api/v1/lineage", deep(10000), "", 400},
		{"lineage nesting 100000", "POST", "/api/v1/lineage", strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000), "", 400},
		// Invalid UTF-8.
		{"invalid UTF-8 name", "POST", assets, "{\"name\":\"\xff\xfe\"}", "", 400},
		{"invalid UTF-8 in a key", "POST", assets, "{\"n\xc3\x28me\":\"x\"}", "", 400},
		{"invalid UTF-8 lineage", "POST", "/api/v1/lineage", "{\"eventType\":\"\xff\"}", "", 400},
		{"invalid UTF-8 patch", "PATCH", assets + "/bi-up", "{\"owner\":\"\xc0\xaf\"}", "", 400},
		// Large bodies.
		{"10 MB asset", "POST", assets, tenMB, "", 413},
		{"10 MB lineage", "POST", "/api/v1/lineage", tenMB, "", 413},
		{"10 MB patch", "PATCH", assets + "/bi-up", tenMB, "", 413},
		// Length limits: 255 runes is fine (below), 256 is not.
		{"name 256 runes", "POST", assets, `{"name":"` + name(256) + `"}`, "", 422},
		{"name 10000 runes", "POST", assets, `{"name":"` + name(10000) + `"}`, "", 422},
		{"empty name", "POST", assets, `{"name":""}`, "", 422},
		{"51 tags", "POST", assets, `{"name":"x","tags":[` + strings.Repeat(`"t",`, 50) + `"t"]}`, "", 422},
		{"tag 101 chars", "POST", assets, `{"name":"x","tags":["` + strings.Repeat("t", 101) + `"]}`, "", 422},
		{"description 10001", "POST", assets, `{"name":"x","description":"` + strings.Repeat("d", 10001) + `"}`, "", 422},
		// Control characters.
		{"NUL in name", "POST", assets, `{"name":"a\u0000b"}`, "", 422},
		{"BEL in name", "POST", assets, `{"name":"a\u0007b"}`, "", 422},
		{"newline in name", "POST", assets, `{"name":"a\nb"}`, "", 422},
		{"ESC in owner", "POST", assets, `{"name":"x","owner":"\u001b[31m"}`, "", 422},
		{"NUL in patch", "PATCH", assets + "/bi-up", `{"name":"\u0000"}`, "", 422},
		// Limits and offsets.
		{"limit -1", "GET", assets + "?limit=-1", "", "", 400},
		{"limit 0", "GET", assets + "?limit=0", "", "", 400},
		{"limit huge", "GET", assets + "?limit=1000000000000000000000", "", "", 400},
		{"limit text", "GET", assets + "?limit=ten", "", "", 400},
		{"limit float", "GET", assets + "?limit=1.5", "", "", 400},
		{"offset -1", "GET", assets + "?offset=-1", "", "", 400},
		{"offset huge", "GET", assets + "?offset=99999999999", "", "", 400},
		{"runs limit -1", "GET", "/api/v1/runs?limit=-1", "", "", 400},
		{"workflows offset text", "GET", "/api/v1/workflows?offset=x", "", "", 400},
		// Cursors.
		{"cursor garbage", "GET", assets + "?cursor=garbage", "", "", 400},
		{"cursor empty", "GET", assets + "?cursor=", "", "", 400},
		{"cursor base64 junk", "GET", assets + "?cursor=eyJ4IjoxfQ", "", "", 400},
		{"cursor with offset", "GET", "/api/v1/runs?cursor=garbage&offset=1", "", "", 400},
		// Malformed UUIDs where only a UUID is accepted.
		{"run id not UUID", "GET", "/api/v1/runs/not-a-uuid", "", "", 400},
		{"run id truncated UUID", "GET", "/api/v1/runs/123e4567-e89b-12d3-a456-42661417400", "", "", 400},
		{"dependency id SQL", "GET", "/api/v1/dependencies/" + url.PathEscape("1 OR 1=1"), "", "", 400},
		{"workflow run id", "DELETE", "/api/v1/executions/zzz", "", "", 400},
		{"key id", "GET", "/api/v1/workflow-runs/%00", "", "", 400},
		{"dependency upstream not a ref", "POST", "/api/v1/dependencies", `{"upstream":"nope-nope","downstream":"bi-down"}`, "", 404},
		// Depth.
		{"depth 0", "GET", assets + "/bi-up/lineage?depth=0", "", "", 400},
		{"depth -1", "GET", assets + "/bi-up/lineage?depth=-1", "", "", 400},
		{"depth 1e9", "GET", assets + "/bi-up/lineage?depth=1000000000", "", "", 400},
		{"depth text", "GET", assets + "/bi-up/lineage?depth=deep", "", "", 400},
		{"direction unknown", "GET", assets + "/bi-up/lineage?direction=sideways", "", "", 400},
		// Bad path escapes and references.
		{"name not found", "GET", assets + "/" + url.PathEscape("' OR '1'='1"), "", "", 404},
		{"traversal", "GET", assets + "/..%2F..%2Fetc%2Fpasswd", "", "", 404},
	}
	for _, c := range cases {
		before := e.counts(e.keyA)
		r := req{method: c.method, path: c.path, key: e.keyA}
		if c.body != "" {
			r.body = c.body
		}
		if c.ctype != "" {
			r.headers = map[string]string{"Content-Type": c.ctype}
		}
		res := e.do(r)
		what := fmt.Sprintf("%s: %s %s", c.name, c.method, c.path)
		if len(what) > 200 {
			what = what[:200]
		}
		if res.status != c.want {
			t.Errorf("%s = %d, want %d: %.300s", what, res.status, c.want, res.body)
			continue
		}
		e.checkAnswer(what, res, before, e.keyA)
	}

	// At the limit is accepted.
	e.must(http.StatusCreated, req{method: "POST", path: assets, key: e.keyA, body: map[string]any{"name": name(255)}})
	e.must(http.StatusOK, req{method: "GET", path: assets + "/bi-up/lineage?depth=1", key: e.keyA})

	// SQL metacharacters and LIKE wildcards in filters match literally.
	for _, q := range []string{"%", "_", "%%", "_bc", "a%", "a_c", `\`, `'`, `'; DROP TABLE assets;--`, `" OR 1=1`} {
		var list struct {
			Total int `json:"total"`
		}
		for _, param := range []string{"q", "owner", "tag", "asset_type"} {
			e.must(http.StatusOK, req{method: "GET", path: assets + "?" + param + "=" + url.QueryEscape(q), key: e.keyA}).json(t, &list)
			if list.Total != 0 {
				t.Errorf("%s=%q matched %d assets, want none (a wildcard or injection leaked)", param, q, list.Total)
			}
		}
	}
	var list struct {
		Total int `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: assets + "?q=ab", key: e.keyA}).json(t, &list)
	if list.Total != 1 {
		t.Errorf("q=ab matched %d, want 1 (abc)", list.Total)
	}
}
