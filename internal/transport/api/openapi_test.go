package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/transport/api"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// fetchOpenAPI reads the document from the server, without an API key, and
// loads it with kin-openapi.
func fetchOpenAPI(t *testing.T, e *env) (*openapi3.T, map[string]any) {
	t.Helper()
	res := e.must(http.StatusOK, req{method: "GET", path: api.OpenAPIPath})
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	var raw map[string]any
	res.json(t, &raw)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(res.body)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Errorf("the OpenAPI document is not valid: %v", err)
	}
	return doc, raw
}

// echoParam matches Echo's path parameters, such as :asset.
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes checks that the document describes exactly the
// routes the server registers, that it is well-formed, and that its
// error responses all use the error envelope.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, raw := fetchOpenAPI(t, e)

	// (1) The same (method, path) pairs as the router, no more, no less.
	registered := map[string]bool{}
	for _, r := range e.srv.Echo().Routes() {
		if r.Method == echo.RouteNotFound || strings.Contains(r.Path, "*") {
			continue // Echo's catch-alls of a group, not an API route
		}
		registered[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	paths, _ := raw["paths"].(map[string]any)
	for p, item := range paths {
		for m := range item.(map[string]any) {
			if slices.Contains(httpMethods, m) {
				documented[strings.ToUpper(m)+" "+p] = true
			}
		}
	}
	var undocumented, unserved []string
	for k := range registered {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			unserved = append(unserved, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unserved)
	if len(undocumented) > 0 {
		t.Errorf("routes the server registers but openapi.json lacks:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unserved) > 0 {
		t.Errorf("operations openapi.json describes but the server does not register:\n  %s", strings.Join(unserved, "\n  "))
	}
	if len(registered) < 40 {
		t.Errorf("only %d routes registered; is the API mounted?", len(registered))
	}

	// (2) Structure: version, unique operation ids, resolvable $refs.
	if raw["openapi"] != "3.0.3" {
		t.Errorf("openapi = %v, want 3.0.3", raw["openapi"])
	}
	ids := map[string]string{}
	for p, item := range paths {
		for m, o := range item.(map[string]any) {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			op := o.(map[string]any)
			where := strings.ToUpper(m) + " " + p
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, prev, where)
			}
			ids[id] = where
			checkOperation(t, raw, where, p, op)
		}
	}
	walkRefs(raw, func(ref string) {
		if _, err := resolve(raw, ref); err != nil {
			t.Errorf("$ref %q: %v", ref, err)
		}
	})

	// Every request body forbids unknown fields, as the server does.
	schemas := raw["components"].(map[string]any)["schemas"].(map[string]any)
	for p, item := range paths {
		for m, o := range item.(map[string]any) {
			rb, ok := o.(map[string]any)["requestBody"]
			if !ok {
				continue
			}
			body, err := deref(raw, rb)
			if err != nil {
				t.Fatal(err)
			}
			schema, err := deref(raw, body["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
			if err != nil {
				t.Fatal(err)
			}
			if schema["additionalProperties"] != false {
				t.Errorf("%s %s: the request body schema allows unknown fields", strings.ToUpper(m), p)
			}
		}
	}
	if ts := schemas["Timestamp"].(map[string]any); ts["type"] != "string" || ts["format"] != "date-time" ||
		!strings.Contains(fmt.Sprint(ts["description"]), api.TimeLayout) {
		t.Errorf("Timestamp = %v, want a date-time string naming %s", ts, api.TimeLayout)
	}
}

// checkOperation checks one operation's responses and path parameters.
func checkOperation(t *testing.T, raw map[string]any, where, path string, op map[string]any) {
	responses, _ := op["responses"].(map[string]any)
	has2xx := false
	for code, r := range responses {
		status, err := strconv.Atoi(code)
		if err != nil {
			t.Errorf("%s: response %q is not a status code", where, code)
			continue
		}
		if status >= 200 && status < 300 {
			has2xx = true
		}
		if status < 400 || status >= 500 {
			continue
		}
		resp, err := deref(raw, r)
		if err != nil {
			t.Errorf("%s %d: %v", where, status, err)
			continue
		}
		content, _ := resp["content"].(map[string]any)
		mt, _ := content["application/json"].(map[string]any)
		schema, _ := mt["schema"].(map[string]any)
		if schema["$ref"] != "#/components/schemas/Error" {
			t.Errorf("%s %d: the response does not use the Error schema: %v", where, status, resp)
		}
	}
	if !has2xx {
		t.Errorf("%s has no 2xx response", where)
	}

	// Every {param} of the path is declared, and nothing more.
	want := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
		want[m[1]] = true
	}
	got := map[string]bool{}
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		pm, err := deref(raw, p)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if pm["in"] == "path" {
			got[fmt.Sprint(pm["name"])] = true
		}
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: path parameters %v, want %v", where, got, want)
	}
	// The public routes say so; the rest need a key and take X-Tenant-ID.
	if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
		return
	}
	found := false
	for _, p := range params {
		if pm, _ := deref(raw, p); pm["name"] == api.HeaderTenantID {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: authenticated, but X-Tenant-ID is not documented", where)
	}
	if _, ok := responses["401"]; !ok {
		t.Errorf("%s: authenticated, but 401 is not documented", where)
	}
}

// walkRefs calls fn with every $ref in v.
func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if s, ok := y.(string); ok && k == "$ref" {
				fn(s)
			} else {
				walkRefs(y, fn)
			}
		}
	case []any:
		for _, y := range x {
			walkRefs(y, fn)
		}
	}
}

// resolve follows a local JSON pointer reference.
func resolve(root map[string]any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	var cur any = root
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not an object", tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return cur, nil
}

// deref returns v as an object, following a $ref.
func deref(root map[string]any, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%v is not an object", v)
	}
	if ref, ok := m["$ref"].(string); ok {
		target, err := resolve(root, ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		return deref(root, target)
	}
	return m, nil
}

// TestOpenAPISchemasMatchDTOs checks that the response schemas name
// exactly the JSON fields of the types the handlers encode.
func TestOpenAPISchemasMatchDTOs(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]any{
		"Asset": api.AssetDTO{}, "Dependency": api.DependencyDTO{}, "Workflow": api.WorkflowDTO{},
		"Run": api.RunDTO{}, "Tenant": api.TenantDTO{}, "APIKey": api.APIKeyDTO{},
		"LineageNode": api.LineageNodeDTO{}, "Error": api.ErrorBody{}, "ErrorDetail": api.ErrorDetail{},
		"StatusResponse": api.StatusResponse{}, "HealthResponse": api.HealthResponse{},
		"AssetVersion": api.AssetVersionDTO{}, "Field": api.FieldDTO{}, "ColumnDependency": api.ColumnEdgeDTO{},
		"ColumnNode": api.ColumnNodeDTO{}, "ColumnLineage": api.ColumnLineageDTO{},
		"Backfill": api.BackfillDTO{}, "BackfillPartition": api.BackfillPartitionDTO{}, "Partition": api.PartitionDTO{},
	} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("no schema %s", name)
			continue
		}
		var fields, required []string
		rt := reflect.TypeOf(typ)
		for i := range rt.NumField() {
			tag, opts, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			fields = append(fields, tag)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, tag)
			}
		}
		var props []string
		for p := range ref.Value.Properties {
			props = append(props, p)
		}
		sort.Strings(fields)
		sort.Strings(props)
		sort.Strings(required)
		got := slices.Clone(ref.Value.Required)
		sort.Strings(got)
		if !slices.Equal(fields, props) {
			t.Errorf("schema %s has properties %v, the Go type %v", name, props, fields)
		}
		if !slices.Equal(required, got) {
			t.Errorf("schema %s requires %v, the Go type always sends %v", name, got, required)
		}
	}
}

// TestOpenAPIDescribesResponses sends requests through a whole flow and
// validates each body, request and response, against the schema the
// document gives for its operation and status.
func TestOpenAPIDescribesResponses(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t) // runs stay pending, so cancelling one is stable
	doc, _ := fetchOpenAPI(t, e)
	uuidFormat := openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))

	// call sends r, checks its status, and validates the bodies against the
	// operation at template.
	call := func(template string, want int, r req) map[string]any {
		t.Helper()
		op := doc.Paths.Find(template).GetOperation(r.method)
		if op == nil {
			t.Fatalf("no operation %s %s", r.method, template)
		}
		if _, isRaw := r.body.(string); r.body != nil && !isRaw && want < 400 {
			raw, err := json.Marshal(r.body)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
			if err := schema.VisitJSON(v, openapi3.VisitAsRequest(), openapi3.EnableFormatValidation(), uuidFormat, openapi3.MultiErrors()); err != nil {
				t.Errorf("%s %s: request body %s does not match the document: %v", r.method, template, raw, err)
			}
		}
		res := e.do(r)
		if res.status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, res.status, want, res.body)
		}
		resp := op.Responses.Status(want)
		if resp == nil || resp.Value == nil {
			t.Errorf("%s %s: status %d is not documented", r.method, template, want)
			return nil
		}
		if want == http.StatusNoContent {
			return nil
		}
		var v any
		res.json(t, &v)
		schema := resp.Value.Content.Get("application/json").Schema.Value
		if err := schema.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.EnableFormatValidation(), uuidFormat, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s %s %d: body %s does not match the document: %v", r.method, template, want, res.body, err)
		}
		m, _ := v.(map[string]any)
		return m
	}
	id := func(m map[string]any, key string) string {
		t.Helper()
		inner, _ := m[key].(map[string]any)
		s, _ := inner["id"].(string)
		if s == "" {
			t.Fatalf("no %s.id in %v", key, m)
		}
		return s
	}
	k := e.keyA
	call("/healthz", 200, req{method: "GET", path: "/healthz"})
	call("/readyz", 200, req{method: "GET", path: "/readyz"})
	call("/api/v1/health", 200, req{method: "GET", path: "/api/v1/health"})

	call("/api/v1/assets", 201, req{method: "POST", path: "/api/v1/assets", key: k,
		body: map[string]any{"name": "raw", "description": "d", "asset_type": "table", "owner": "o", "tags": []string{"x"}}})
	call("/api/v1/assets", 201, req{method: "POST", path: "/api/v1/assets", key: k, body: map[string]any{"name": "clean"}})
	call("/api/v1/assets", 409, req{method: "POST", path: "/api/v1/assets", key: k, body: map[string]any{"name": "clean"}})
	call("/api/v1/assets", 422, req{method: "POST", path: "/api/v1/assets", key: k, body: map[string]any{"name": "x", "tags": []string{"a", "b"}, "asset_type": strings.Repeat("t", 101)}})
	call("/api/v1/assets", 401, req{method: "GET", path: "/api/v1/assets"})
	call("/api/v1/assets", 403, req{method: "GET", path: "/api/v1/assets", key: k, headers: map[string]string{api.HeaderTenantID: e.b}})
	call("/api/v1/assets", 400, req{method: "GET", path: "/api/v1/assets?limit=501", key: k})
	call("/api/v1/assets", 200, req{method: "GET", path: "/api/v1/assets?limit=10&offset=0&q=r&owner=o&tag=x&asset_type=table", key: k})
	call("/api/v1/assets/{asset}", 200, req{method: "GET", path: "/api/v1/assets/raw", key: k})
	call("/api/v1/assets/{asset}", 404, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape("no/such"), key: k})
	call("/api/v1/assets/{asset}", 200, req{method: "PATCH", path: "/api/v1/assets/clean", key: k, body: map[string]any{"owner": "eng", "tags": []string{}}})

	dep := call("/api/v1/dependencies", 201, req{method: "POST", path: "/api/v1/dependencies", key: k,
		body: map[string]any{"upstream": "raw", "downstream": "clean", "dependency_type": "data"}})
	call("/api/v1/dependencies", 409, req{method: "POST", path: "/api/v1/dependencies", key: k, body: map[string]any{"upstream": "clean", "downstream": "raw"}})
	call("/api/v1/dependencies/{id}", 200, req{method: "GET", path: "/api/v1/dependencies/" + id(dep, "dependency"), key: k})
	call("/api/v1/dependencies/{id}", 400, req{method: "GET", path: "/api/v1/dependencies/nope", key: k})
	call("/api/v1/assets/{asset}/dependencies", 200, req{method: "GET", path: "/api/v1/assets/clean/dependencies", key: k})
	call("/api/v1/assets/{asset}/upstream", 200, req{method: "GET", path: "/api/v1/assets/clean/upstream", key: k})
	call("/api/v1/assets/{asset}/downstream", 200, req{method: "GET", path: "/api/v1/assets/raw/downstream", key: k})
	call("/api/v1/assets/{asset}/lineage", 200, req{method: "GET", path: "/api/v1/assets/clean/lineage?direction=upstream&depth=3&types=data,control", key: k})
	call("/api/v1/assets/{asset}/lineage", 400, req{method: "GET", path: "/api/v1/assets/clean/lineage?depth=51", key: k})

	wf := call("/api/v1/workflows", 201, req{method: "POST", path: "/api/v1/workflows", key: k, body: map[string]any{"name": "nightly", "assets": []string{"raw", "clean"}}})
	call("/api/v1/workflows", 201, req{method: "POST", path: "/api/v1/workflows", key: k, body: map[string]any{"name": "nightly", "assets": []string{"raw"}}})
	call("/api/v1/workflows", 200, req{method: "GET", path: "/api/v1/workflows", key: k})
	call("/api/v1/workflows/{workflow}", 200, req{method: "GET", path: "/api/v1/workflows/nightly?version=1", key: k})
	call("/api/v1/workflows/{workflow}", 200, req{method: "PATCH", path: "/api/v1/workflows/nightly", key: k, body: map[string]any{"description": "d"}})
	call("/api/v1/workflows/{workflow}/versions", 200, req{method: "GET", path: "/api/v1/workflows/nightly/versions", key: k})
	trig := call("/api/v1/workflows/{workflow}/trigger", 202, req{method: "POST", path: "/api/v1/workflows/nightly/trigger", key: k,
		headers: map[string]string{api.HeaderIdempotencyKey: "k1"}})
	mat := call("/api/v1/materialize", 202, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{"asset_name": "raw", "partition_key": "p1"}})
	call("/api/v1/materialize", 422, req{method: "POST", path: "/api/v1/materialize", key: k, body: map[string]any{}})
	call("/api/v1/materialize", 415, req{method: "POST", path: "/api/v1/materialize", key: k, body: "asset_name=raw", headers: map[string]string{"Content-Type": "text/plain"}})
	runID, _ := trig["run_id"].(string)
	matID, _ := mat["run_id"].(string)
	call("/api/v1/runs", 200, req{method: "GET", path: "/api/v1/runs?status=pending&state=pending&workflow_name=nightly", key: k})
	call("/api/v1/executions", 200, req{method: "GET", path: "/api/v1/executions?asset_name=raw", key: k})
	call("/api/v1/runs/{id}", 200, req{method: "GET", path: "/api/v1/runs/" + matID, key: k})
	call("/api/v1/workflow-runs/{id}", 200, req{method: "GET", path: "/api/v1/workflow-runs/" + runID, key: k})
	call("/api/v1/executions/{id}/cancel", 200, req{method: "POST", path: "/api/v1/executions/" + runID + "/cancel", key: k})
	call("/api/v1/runs/{id}/cancel", 409, req{method: "POST", path: "/api/v1/runs/" + runID + "/cancel", key: k})
	call("/api/v1/runs/{id}", 204, req{method: "DELETE", path: "/api/v1/runs/" + matID, key: k})
	call("/api/v1/workflows/{workflow}", 204, req{method: "DELETE", path: "/api/v1/workflows/" + id(wf, "workflow"), key: k})

	call("/api/v1/tenants", 403, req{method: "GET", path: "/api/v1/tenants", key: k})
	call("/api/v1/tenants", 200, req{method: "GET", path: "/api/v1/tenants", key: adminKey})
	call("/api/v1/tenants", 201, req{method: "POST", path: "/api/v1/tenants", key: adminKey, body: map[string]any{"id": e.a + "-oa", "name": "OpenAPI"}})
	created := call("/api/v1/tenants/{tenant}/keys", 201, req{method: "POST", path: "/api/v1/tenants/" + e.a + "-oa/keys", key: adminKey, body: map[string]any{"name": "ci"}})
	call("/api/v1/tenants/{tenant}/keys", 200, req{method: "GET", path: "/api/v1/tenants/" + e.a + "-oa/keys", key: adminKey})
	keyID, _ := created["id"].(string)
	call("/api/v1/keys/{id}", 204, req{method: "DELETE", path: "/api/v1/keys/" + keyID, key: adminKey})
	call("/api/v1/keys/{id}", 409, req{method: "DELETE", path: "/api/v1/keys/" + keyID, key: adminKey})

	call("/api/v1/dependencies/{id}", 204, req{method: "DELETE", path: "/api/v1/dependencies/" + id(dep, "dependency"), key: k})
	call("/api/v1/assets/{asset}/dependencies", 204, req{method: "DELETE", path: "/api/v1/assets/raw/dependencies", key: k})
	call("/api/v1/assets/{asset}", 204, req{method: "DELETE", path: "/api/v1/assets/clean", key: k})
}
