package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// TestAPIComputeEnvNamesRefused refuses, on create and on PATCH, spec
// variables that change how a loader, shell or interpreter starts, or that
// the runtime fixes, and names that are not plain identifiers: 422 naming
// the variable in details, and nothing changes.
func TestAPIComputeEnvNamesRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA,
		body: map[string]any{"name": "target", "compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "env": map[string]string{"MODE": "ok"}}}})
	names := []string{
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "ld_preload", "BASH_ENV", "ENV", "BASH_FUNC_echo%%", "BASH_FUNC_x",
		"SHELLOPTS", "BASHOPTS", "PS4", "IFS", "PATH", "HOME", "TMPDIR", "GLIBC_TUNABLES", "GCONV_PATH",
		"MALLOC_CHECK_", "MALLOC_ARENA_MAX", "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PERL5OPT", "PERL5LIB",
		"RUBYOPT", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
		"1ABC", "A-B", "A B", "A=B", "", "É", "A\x00B",
	}
	for _, name := range names {
		spec := map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "env": map[string]string{name: "x"}}
		for _, r := range []req{
			{method: "POST", path: "/api/v1/assets", key: e.keyA, body: map[string]any{"name": "probe", "compute": spec}},
			{method: "PATCH", path: "/api/v1/assets/target", key: e.keyA, body: map[string]any{"compute": spec}},
		} {
			res := e.do(r)
			if res.status == http.StatusBadRequest && strings.ContainsRune(name, 0) {
				continue // NUL in a JSON string is refused by the decoder already
			}
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("%s with env %q = %d %s, want 422", r.method, name, res.status, res.body)
				continue
			}
			if _, ok := res.errBody(t).Details["compute.env."+name]; !ok {
				t.Errorf("%s with env %q: details %s do not name compute.env.%s", r.method, name, res.body, name)
			}
		}
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/probe", key: e.keyA})
	var got struct {
		Asset struct {
			Compute struct {
				Env map[string]string `json:"env"`
			} `json:"compute"`
		} `json:"asset"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/target", key: e.keyA}).json(t, &got)
	if env := got.Asset.Compute.Env; len(env) != 1 || env["MODE"] != "ok" {
		t.Fatalf("target's env after refused PATCHes: %v", env)
	}
	// Ordinary names pass.
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/assets/target", key: e.keyA,
		body: map[string]any{"compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "env": map[string]string{"_private": "1", "DB_NAME": "x", "LANG": "de_DE.UTF-8", "LDAP_HOST": "h"}}}})
}

// TestAPIGlobalComputeEnvValuesHidden shows tenants the names of a global
// asset's compute env, never its values; the system scope and the owner of
// a tenant asset see the values.
func TestAPIGlobalComputeEnvValuesHidden(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, d, zap.NewNop(), true, api.Config{}, openlineage.Lenient)
	const secret = "operator-secret-value"
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: adminKey,
		body: map[string]any{"name": "shared-loader", "compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "env": map[string]string{"WAREHOUSE_TOKEN": secret}}}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA,
		body: map[string]any{"name": "own", "compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "env": map[string]string{"MINE": "visible-to-a"}}}})
	for _, r := range []req{
		{method: "GET", path: "/api/v1/assets/shared-loader", key: e.keyA},
		{method: "GET", path: "/api/v1/assets/shared-loader", key: e.keyB},
		{method: "GET", path: "/api/v1/assets?limit=100", key: e.keyB},
		{method: "GET", path: "/api/v1/assets/shared-loader/lineage", key: e.keyB},
	} {
		res := e.must(http.StatusOK, r)
		if strings.Contains(string(res.body), secret) {
			t.Errorf("%s %s shows the global asset's env value: %s", r.method, r.path, res.body)
		}
		if !strings.Contains(string(res.body), `"WAREHOUSE_TOKEN":""`) {
			t.Errorf("%s %s does not name the global asset's variable: %s", r.method, r.path, res.body)
		}
	}
	if res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/own", key: e.keyA}); !strings.Contains(string(res.body), "visible-to-a") {
		t.Errorf("a tenant does not see its own env values: %s", res.body)
	}
	if res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/shared-loader", key: adminKey}); !strings.Contains(string(res.body), secret) {
		t.Errorf("the system scope does not see the global asset's env: %s", res.body)
	}
}
