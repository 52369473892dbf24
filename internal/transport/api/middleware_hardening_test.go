package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// TestSecurityHeaders checks the headers of every kind of response: API
// answers (success, error, unauthenticated, unmatched route), probes, and
// the console, whose own stricter CSP must survive.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apiCSP := "default-src 'none'; frame-ancestors 'none'"
	common := func(t *testing.T, what string, r resp) {
		t.Helper()
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", what, k, got, v)
			}
		}
	}
	for _, r := range []req{
		{method: "GET", path: "/api/v1/assets", key: e.keyA},
		{method: "GET", path: "/api/v1/assets"},                              // 401
		{method: "GET", path: "/api/v1/assets/nope", key: e.keyA},            // 404
		{method: "POST", path: "/api/v1/assets", key: e.keyA, body: "{"},     // 400
		{method: "GET", path: "/api/v1/openapi.json"},                        // public
		{method: "GET", path: "/api/v1/no-such-route", key: e.keyA},          // unmatched
		{method: "GET", path: "/healthz"}, {method: "GET", path: "/nowhere"}, // outside the API
	} {
		res := e.do(r)
		what := r.method + " " + r.path + " " + strconv.Itoa(res.status)
		common(t, what, res)
		if got := res.header.Get("Content-Security-Policy"); got != apiCSP {
			t.Errorf("%s: CSP = %q, want %q", what, got, apiCSP)
		}
		if strings.HasPrefix(r.path, "/api/v1") && res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", what, res.header.Get("Cache-Control"))
		}
	}
	ui := e.do(req{method: "GET", path: "/ui/"})
	if ui.status != http.StatusOK {
		t.Fatalf("GET /ui/ = %d", ui.status)
	}
	common(t, "GET /ui/", ui)
	if csp := ui.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("GET /ui/: CSP = %q, want the console's own policy", csp)
	}
	if cc := ui.header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /ui/: Cache-Control = %q, want no-cache", cc)
	}
}

// TestRateLimitPerTenant: past its burst a tenant gets 429 with Retry-After
// and the error body; another tenant and the admin key are unaffected.
func TestRateLimitPerTenant(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, zap.NewNop(), false, api.Config{RateLimit: 0.5, RateBurst: 3})
	for range 3 {
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: e.keyA})
	}
	// The tenant's second key shares the tenant's bucket.
	res := e.must(http.StatusTooManyRequests, req{method: "GET", path: "/api/v1/assets", key: e.keyA2})
	if body := res.errBody(t); body.Code != api.CodeRateLimited {
		t.Errorf("code = %q, want %q", body.Code, api.CodeRateLimited)
	}
	if ra, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After = %q, want 1 or 2 seconds", res.header.Get("Retry-After"))
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: e.keyB})
	for range 5 {
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/tenants", key: adminKey})
	}
}

// TestPoolExhaustionIs503 holds the only pooled connection: a request
// that needs one waits for the request timeout, then gets 503 unavailable
// with Retry-After, instead of queueing for ever. Once the connection is
// free again requests succeed.
func TestPoolExhaustionIs503(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testdb.Shared(t)
	st, err := repository.Open(ctx, d.AppURL, repository.PoolConfig{MaxOpen: 1, ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := service.New(st, nil, nil)
	srv, err := api.New(api.Config{RequestTimeout: 300 * time.Millisecond}, api.Deps{DB: st})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{})
	e := &env{t: t}
	ts := startServer(t, srv)
	e.url = ts
	key, _, err := svc.CreateAPIKey(domain.WithSystem(ctx), service.CreateAPIKeyInput{TenantID: testdb.TenantID("pool"), CreateTenant: true})
	if err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: key})

	conn, err := st.SQLDB().Conn(ctx) // the pool's only connection
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{method: "GET", path: "/api/v1/assets", key: key},
		{method: "POST", path: "/api/v1/assets", key: key, body: map[string]any{"name": "queued"}},
	} {
		start := time.Now()
		res := e.must(http.StatusServiceUnavailable, r)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s %s: 503 after %s, want about the 300ms request timeout", r.method, r.path, took)
		}
		if body := res.errBody(t); body.Code != api.CodeUnavailable {
			t.Errorf("code = %q, want unavailable", body.Code)
		}
		if res.header.Get("Retry-After") == "" {
			t.Error("a 503 without Retry-After")
		}
	}
	_ = conn.Close()
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: key})
	var list struct{ Total int }
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: key}).json(t, &list)
	if list.Total != 0 {
		t.Errorf("the rejected POST wrote %d assets", list.Total)
	}
}

// startServer serves srv on a loopback listener until the test ends and
// returns its base URL.
func startServer(t *testing.T, srv *api.Server) string {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}
