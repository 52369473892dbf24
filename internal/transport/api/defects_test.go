package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// newEnvOnStore is an env on the given store (PostgreSQL or SQLite)
// without a runtime: triggered runs stay pending.
func newEnvOnStore(t *testing.T, st *repository.Store, cfg api.Config) *env {
	t.Helper()
	svc := service.New(st, nil, nil)
	srv, err := api.New(cfg, api.Deps{DB: st, Log: zap.NewNop(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ol, err := openlineage.New(svc, st, openlineage.Options{Log: zap.NewNop(), Mode: openlineage.Lenient})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{AdminKey: adminKey, OpenLineage: ol})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, url: ts.URL, svc: svc, srv: srv, a: testdb.TenantID("a"), b: testdb.TenantID("b")}
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

// bothBackends runs fn against a server on PostgreSQL (as the application
// role) and one on the embedded SQLite default.
func bothBackends(t *testing.T, cfg api.Config, fn func(t *testing.T, e *env)) {
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, newEnvOnStore(t, testdb.Open(t, testdb.Shared(t)), cfg))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, newEnvOnStore(t, testdb.OpenSQLite(t), cfg))
	})
}

// Every filter has a maximum length: past it the answer is 400 on both
// backends (a 100 KB q was a 500 on SQLite, whose LIKE pattern is capped).
func TestFilterLengthLimits(t *testing.T) {
	t.Parallel()
	bothBackends(t, api.Config{}, func(t *testing.T, e *env) {
		e.must(201, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "orders"}})
		for _, tc := range []struct {
			route, param string
			max          int
		}{
			{"/api/v1/assets", "q", domain.MaxNameLen},
			{"/api/v1/assets", "asset_type", domain.MaxTypeLen},
			{"/api/v1/assets", "owner", domain.MaxOwnerLen},
			{"/api/v1/assets", "tag", domain.MaxTagLen},
			{"/api/v1/runs", "asset_name", domain.MaxNameLen},
			{"/api/v1/runs", "workflow_name", domain.MaxNameLen},
		} {
			at := strings.Repeat("é", tc.max) // counted in characters, not bytes
			e.must(200, req{method: "GET", path: tc.route + "?" + tc.param + "=" + at, key: e.keyA})
			res := e.must(400, req{method: "GET", path: tc.route + "?" + tc.param + "=" + at + "x", key: e.keyA})
			if d := res.errBody(t); d.Details[tc.param] != "too long" {
				t.Fatalf("%s %s: details %v", tc.route, tc.param, d.Details)
			}
		}
		res := e.must(400, req{method: "GET", path: "/api/v1/assets?q=" + strings.Repeat("a", 100<<10), key: e.keyA})
		if d := res.errBody(t); !strings.Contains(d.Message, "over 1024 bytes") {
			t.Fatalf("100 KB q: %+v", d)
		}
	})
}

// Invalid UTF-8 in a path is 400 and says so, on both backends (it was 422
// "rejected by the schema" on PostgreSQL).
func TestInvalidUTF8PathIs400(t *testing.T) {
	t.Parallel()
	bothBackends(t, api.Config{}, func(t *testing.T, e *env) {
		for _, r := range []req{
			{method: "GET", path: "/api/v1/assets/%FF%FE"},
			{method: "GET", path: "/api/v1/assets/ok%FF/lineage"},
			{method: "DELETE", path: "/api/v1/assets/%C3"},
			{method: "GET", path: "/api/v1/workflows/%FF%FE"},
			{method: "DELETE", path: "/api/v1/workflows/%FF%FE"},
			{method: "POST", path: "/api/v1/workflows/%FF%FE/trigger"},
		} {
			r.key = e.keyA
			res := e.must(400, r)
			if d := res.errBody(t); !strings.Contains(d.Message, "not valid UTF-8") {
				t.Fatalf("%s %s: %q", r.method, r.path, d.Message)
			}
		}
	})
}

// A JSON escape of a lone UTF-16 surrogate is refused (400, like any text
// that is not UTF-8) instead of being stored as U+FFFD; a proper pair is
// kept.
func TestLoneSurrogateEscapesRefused(t *testing.T) {
	t.Parallel()
	bothBackends(t, api.Config{}, func(t *testing.T, e *env) {
		for _, body := range []string{
			`{"name":"a\ud800"}`,
			`{"name":"a\uDFFF"}`,
			`{"name":"ok","description":"x\ud800\u0041"}`,
			`{"name":"a\udc00\ud800"}`,
		} {
			res := e.must(400, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: body})
			if d := res.errBody(t); !strings.Contains(d.Message, "surrogate") {
				t.Fatalf("%s: %q", body, d.Message)
			}
		}
		e.must(400, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: `{"eventType":"START","eventTime":"2026-01-01T00:00:00Z","run":{"runId":"` + uuid.NewString() + `"},"job":{"namespace":"ns","name":"j\ud800"}}`})
		var list struct {
			Total int `json:"total"`
		}
		e.must(200, req{method: "GET", path: "/api/v1/assets", key: e.keyA}).json(t, &list)
		if list.Total != 0 {
			t.Fatalf("a refused body stored %d assets", list.Total)
		}
		// A backslash before "u" is data, not an escape; a pair is a character.
		var got struct {
			Asset struct {
				Name string `json:"name"`
			} `json:"asset"`
		}
		e.must(201, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: `{"name":"smile \ud83d\ude00 \\ud800"}`}).json(t, &got)
		if got.Asset.Name != `smile 😀 \ud800` {
			t.Fatalf("name = %q", got.Asset.Name)
		}
	})
}

// Names that uuid.Parse would read as ids, in any of its forms, and names
// with bidirectional controls are refused with 422: a path reference is an
// id or a name, never either.
func TestAmbiguousNamesRefused(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	bothBackends(t, api.Config{}, func(t *testing.T, e *env) {
		e.must(201, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "a1"}})
		for _, name := range []string{
			id.String(),
			strings.ToUpper(id.String()),
			strings.ReplaceAll(id.String(), "-", ""),
			"{" + id.String() + "}",
			"urn:uuid:" + id.String(),
			"evil\u202Egnp.exe",
			"a\u2066b",
			"\u202Aleft",
			"x\u2069",
		} {
			for _, r := range []req{
				{method: "POST", path: "/api/v1/assets", body: map[string]any{"name": name}},
				{method: "POST", path: "/api/v1/workflows", body: map[string]any{"name": name, "assets": []string{"a1"}}},
				{method: "PATCH", path: "/api/v1/assets/a1", body: map[string]any{"name": name}},
			} {
				r.key = e.keyA
				res := e.do(r)
				if res.status == http.StatusBadRequest && r.method == "PATCH" {
					continue // PATCH may not rename; then the name is refused anyway
				}
				if res.status != http.StatusUnprocessableEntity {
					t.Fatalf("%s %s name %q: status %d: %s", r.method, r.path, name, res.status, res.body)
				}
				if d := res.errBody(t); d.Details["name"] == nil {
					t.Fatalf("%s %q: details %v", r.method, name, d.Details)
				}
			}
		}
	})
}

// A workflow id in any form uuid.Parse accepts addresses that version,
// everywhere: DELETE /workflows/<32 hex digits> deletes the version with
// that id (it used to look the digits up as a name), and GET finds it.
func TestWorkflowRefIsOneThing(t *testing.T) {
	t.Parallel()
	bothBackends(t, api.Config{}, func(t *testing.T, e *env) {
		e.must(201, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "a1"}})
		var v1, v2 struct {
			Workflow struct {
				ID      uuid.UUID `json:"id"`
				Version int       `json:"version"`
			} `json:"workflow"`
		}
		e.must(201, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "nightly", "assets": []string{"a1"}}}).json(t, &v1)
		e.must(201, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "nightly", "assets": []string{"a1"}}}).json(t, &v2)
		hex := strings.ReplaceAll(v1.Workflow.ID.String(), "-", "")
		for _, ref := range []string{hex, "%7B" + v1.Workflow.ID.String() + "%7D", "urn:uuid:" + v1.Workflow.ID.String()} {
			e.must(200, req{method: "GET", path: "/api/v1/workflows/" + ref, key: e.keyA})
		}
		e.must(404, req{method: "GET", path: "/api/v1/workflows/" + hex, key: e.keyB})
		e.must(404, req{method: "DELETE", path: "/api/v1/workflows/" + hex, key: e.keyB})
		e.must(204, req{method: "DELETE", path: "/api/v1/workflows/" + hex, key: e.keyA})
		e.must(404, req{method: "GET", path: "/api/v1/workflows/" + v1.Workflow.ID.String(), key: e.keyA})
		var latest struct {
			Workflow struct {
				ID uuid.UUID `json:"id"`
			} `json:"workflow"`
		}
		e.must(200, req{method: "GET", path: "/api/v1/workflows/nightly", key: e.keyA}).json(t, &latest)
		if latest.Workflow.ID != v2.Workflow.ID {
			t.Fatalf("version 2 went too: latest is %s", latest.Workflow.ID)
		}
		// An asset's 32-hex id resolves to the asset as well.
		var a struct {
			Asset struct {
				ID uuid.UUID `json:"id"`
			} `json:"asset"`
		}
		e.must(200, req{method: "GET", path: "/api/v1/assets/a1", key: e.keyA}).json(t, &a)
		e.must(200, req{method: "GET", path: "/api/v1/assets/" + strings.ReplaceAll(a.Asset.ID.String(), "-", ""), key: e.keyA})
	})
}
