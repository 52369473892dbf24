package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/servo-data/servo/internal/transport/api"
)

// tsPattern is the timestamp form the SDK parses with fromisoformat.
var tsPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$`)

type assetBody struct {
	Asset struct {
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		AssetType string   `json:"asset_type"`
		Owner     string   `json:"owner"`
		Tags      []string `json:"tags"`
		TenantID  *string  `json:"tenant_id"`
		Global    bool     `json:"global"`
		CreatedAt string   `json:"created_at"`
		UpdatedAt string   `json:"updated_at"`
	} `json:"asset"`
}

func TestAPIAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var created assetBody
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA,
		body: map[string]any{"name": "warehouse.orders", "asset_type": "table", "owner": "eng", "tags": []string{"pii"}}}).json(t, &created)
	a := created.Asset
	if a.Name != "warehouse.orders" || a.AssetType != "table" || a.TenantID == nil || *a.TenantID != e.a || a.Global {
		t.Fatalf("created = %+v", a)
	}
	if !tsPattern.MatchString(a.CreatedAt) || !tsPattern.MatchString(a.UpdatedAt) {
		t.Fatalf("timestamps %q %q are not in the SDK's form", a.CreatedAt, a.UpdatedAt)
	}
	var got assetBody
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + a.ID, key: e.keyA}).json(t, &got)
	if got.Asset.ID != a.ID {
		t.Fatalf("get by id = %+v", got.Asset)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/warehouse.orders", key: e.keyA}).json(t, &got)
	if got.Asset.ID != a.ID {
		t.Fatalf("get by name = %+v", got.Asset)
	}
	// Names with a slash travel escaped.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "s3://bucket/raw 100%"}})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape("s3://bucket/raw 100%"), key: e.keyA}).json(t, &got)
	if got.Asset.Name != "s3://bucket/raw 100%" {
		t.Fatalf("escaped name = %q", got.Asset.Name)
	}

	var patched assetBody
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/assets/" + a.ID, key: e.keyA, body: map[string]any{"description": "orders", "tags": []string{}}}).json(t, &patched)
	if patched.Asset.Owner != "eng" || len(patched.Asset.Tags) != 0 {
		t.Fatalf("patch = %+v", patched.Asset)
	}

	var list struct {
		Assets []map[string]any `json:"assets"`
		Total  int              `json:"total"`
		Limit  int              `json:"limit"`
		Offset int              `json:"offset"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?q=warehouse.&limit=10", key: e.keyA}).json(t, &list)
	if list.Total != 1 || len(list.Assets) != 1 || list.Limit != 10 || list.Offset != 0 {
		t.Fatalf("list = %+v", list)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets?asset_type=table&owner=eng", key: e.keyA}).json(t, &list)
	if list.Total != 1 {
		t.Fatalf("filtered list = %+v", list)
	}

	// Errors, each with its status and the error envelope.
	cases := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"duplicate name", req{method: "POST", path: "/api/v1/assets", body: map[string]any{"name": "warehouse.orders"}}, 409, "conflict"},
		{"validation", req{method: "POST", path: "/api/v1/assets", body: map[string]any{"name": ""}}, 422, "validation_failed"},
		{"malformed JSON", req{method: "POST", path: "/api/v1/assets", body: `{"name": `}, 400, "bad_request"},
		{"wrong type", req{method: "POST", path: "/api/v1/assets", body: `{"name": 5}`}, 400, "bad_request"},
		{"unknown field", req{method: "POST", path: "/api/v1/assets", body: `{"name": "x", "colour": "red"}`}, 400, "bad_request"},
		{"two values", req{method: "POST", path: "/api/v1/assets", body: `{"name": "x"} {}`}, 400, "bad_request"},
		{"not JSON", req{method: "POST", path: "/api/v1/assets", body: `name=x`, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"},
		{"too large", req{method: "POST", path: "/api/v1/assets", body: `{"name": "` + strings.Repeat("x", api.MaxBodyBytes) + `"}`}, 413, "payload_too_large"},
		{"missing", req{method: "GET", path: "/api/v1/assets/00000000-0000-0000-0000-000000000001"}, 404, "not_found"},
		{"missing by name", req{method: "GET", path: "/api/v1/assets/nope"}, 404, "not_found"},
		{"limit too high", req{method: "GET", path: "/api/v1/assets?limit=501"}, 400, "bad_request"},
		{"limit zero", req{method: "GET", path: "/api/v1/assets?limit=0"}, 400, "bad_request"},
		{"negative offset", req{method: "GET", path: "/api/v1/assets?offset=-1"}, 400, "bad_request"},
		{"limit not a number", req{method: "GET", path: "/api/v1/assets?limit=ten"}, 400, "bad_request"},
		{"global as tenant", req{method: "POST", path: "/api/v1/assets", body: map[string]any{"name": "g", "global": true}}, 403, "forbidden"},
		{"no such route", req{method: "GET", path: "/api/v1/nothing"}, 404, "not_found"},
	}
	for _, tc := range cases {
		tc.r.key = e.keyA
		res := e.do(tc.r)
		if res.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, res.status, tc.status, res.body)
			continue
		}
		if body := res.errBody(t); body.Code != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, body.Code, tc.code)
		}
	}
	res := e.do(req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": ""}})
	if d := res.errBody(t).Details; d["name"] == nil {
		t.Errorf("validation details = %v, want the name field", d)
	}

	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/assets/" + a.ID, key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + a.ID, key: e.keyA})
	e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/assets/" + a.ID, key: e.keyA})
}

func TestAPIAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name    string
		headers map[string]string
		key     string
		status  int
	}{
		{"no key", nil, "", 401},
		{"not bearer", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, "", 401},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, "", 401},
		{"unknown key", nil, "servo_" + strings.Repeat("A", 43), 401},
		{"garbage key", nil, "hunter2", 401},
		{"matching tenant header", map[string]string{"X-Tenant-ID": e.a}, e.keyA, 200},
		{"another tenant's header", map[string]string{"X-Tenant-ID": e.b}, e.keyA, 403},
		{"admin key with a tenant header", map[string]string{"X-Tenant-ID": e.a}, adminKey, 403},
		{"admin key", nil, adminKey, 200},
		{"lowercase scheme", map[string]string{"Authorization": "bearer " + e.keyB}, "", 200},
	}
	for _, tc := range cases {
		r := req{method: "GET", path: "/api/v1/assets", key: tc.key, headers: tc.headers}
		res := e.do(r)
		if res.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, res.status, tc.status, res.body)
		}
		if tc.status >= 400 {
			res.errBody(t)
		}
	}
	// Tenant keys cannot use admin routes; the admin key can.
	e.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/tenants", key: e.keyA})
	e.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/tenants/" + e.b + "/keys", key: e.keyA, body: map[string]any{}})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/tenants", key: adminKey})

	// Revocation takes effect.
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: e.keyA2})
	var keys struct {
		Keys []struct {
			ID string `json:"id"`
		} `json:"keys"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/tenants/" + e.a + "/keys", key: adminKey}).json(t, &keys)
	if len(keys.Keys) != 2 {
		t.Fatalf("tenant A has %d keys, want 2", len(keys.Keys))
	}
	var revoked bool
	for _, k := range keys.Keys {
		res := e.do(req{method: "DELETE", path: "/api/v1/keys/" + k.ID, key: adminKey})
		if res.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		if e.do(req{method: "GET", path: "/api/v1/assets", key: e.keyA2}).status == http.StatusUnauthorized {
			revoked = true
			break
		}
	}
	if !revoked {
		t.Fatal("revoking A's keys left the second key working")
	}
}

func TestAPIAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := "adm-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:8] + fmt.Sprint(len(e.a))
	id = strings.ReplaceAll(id, "_", "-")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tenants", key: adminKey, body: map[string]any{"id": e.a + "x", "name": "X"}})
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/tenants", key: adminKey, body: map[string]any{"id": e.a + "x"}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/tenants", key: adminKey, body: map[string]any{"id": "Not Valid"}})
	var key struct {
		Key string `json:"key"`
		ID  string `json:"id"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tenants/" + e.a + "x/keys", key: adminKey, body: map[string]any{"name": "ci"}}).json(t, &key)
	if !strings.HasPrefix(key.Key, "servo_") || key.ID == "" {
		t.Fatalf("key = %+v", key)
	}
	e.must(http.StatusNotFound, req{method: "POST", path: "/api/v1/tenants/no-such-tenant-" + id + "/keys", key: adminKey})
	// The new key works, for its tenant only.
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: key.Key, headers: map[string]string{"X-Tenant-ID": e.a + "x"}})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/keys/" + key.ID, key: adminKey})
	e.must(http.StatusConflict, req{method: "DELETE", path: "/api/v1/keys/" + key.ID, key: adminKey})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/assets", key: key.Key})
	e.must(http.StatusBadRequest, req{method: "DELETE", path: "/api/v1/keys/not-a-uuid", key: adminKey})

	// Global rows: the admin writes them, tenants read them and get 403 on writes.
	var g assetBody
	name := "global-" + e.a
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: adminKey, body: map[string]any{"name": name, "global": true}}).json(t, &g)
	if !g.Asset.Global || g.Asset.TenantID != nil {
		t.Fatalf("global asset = %+v", g.Asset)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + g.Asset.ID, key: e.keyB})
	e.must(http.StatusForbidden, req{method: "PATCH", path: "/api/v1/assets/" + g.Asset.ID, key: e.keyB, body: map[string]any{"owner": "b"}})
	e.must(http.StatusForbidden, req{method: "DELETE", path: "/api/v1/assets/" + g.Asset.ID, key: e.keyB})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/assets/" + g.Asset.ID, key: adminKey})
}
