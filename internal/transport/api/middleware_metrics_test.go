package api_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// fixedPool reports the same pool statistics at every scrape.
type fixedPool sql.DBStats

func (p fixedPool) Stats() sql.DBStats { return sql.DBStats(p) }

// okPinger is a database that always answers.
type okPinger struct{}

func (okPinger) Ping(context.Context) error { return nil }

// scrape reads /metrics without an API key.
func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + api.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want the text format", ct)
	}
	return string(body)
}

// hasLine reports whether the exposition holds line exactly.
func hasLine(body, line string) bool {
	for _, l := range strings.Split(body, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, testdb.Shared(t))
	svc := service.New(st, nil, nil)
	srv, err := api.New(api.Config{}, api.Deps{DB: st, Pool: st, Log: zap.NewNop(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, api.APIOptions{AdminKey: adminKey})
	// Routes that fail after the handler ran: the recorded status must be
	// the one the error handler wrote, a panic included.
	srv.Echo().GET("/test/conflict/:id", func(echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "taken") })
	srv.Echo().GET("/test/broken", func(echo.Context) error { return errors.New("database on fire") })
	srv.Echo().GET("/test/panic", func(echo.Context) error { panic("boom") })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	send := func(method, path, key string, want int) {
		t.Helper()
		r, err := http.NewRequest(method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d", method, path, res.StatusCode, want)
		}
	}
	send("GET", "/healthz", "", 200)
	send("GET", "/healthz", "", 200)
	send("GET", "/no/such/route", "", 404)
	send("GET", "/api/v1/no-such-route", adminKey, 404) // the API group's catch-all
	send("GET", "/api/v1/no-such-route", "", 401)       // the catch-all runs the group's authentication
	send("POST", "/healthz", "", 405)
	send("BREW", "/healthz", "", 405)
	send("GET", "/api/v1/assets", "", 401)
	send("GET", "/api/v1/assets/secret-asset-name", adminKey, 404) // a real route's 404
	send("GET", "/test/conflict/42", "", 409)
	send("GET", "/test/broken", "", 500)
	send("GET", "/test/panic", "", 500)
	send("GET", api.OpenAPIPath, "", 200)

	body := scrape(t, ts.URL)
	for _, line := range []string{
		`servo_http_requests_total{method="GET",route="/healthz",status="200"} 2`,
		`servo_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`servo_http_requests_total{method="GET",route="unmatched",status="401"} 1`,
		`servo_http_requests_total{method="POST",route="unmatched",status="405"} 1`,
		`servo_http_requests_total{method="other",route="unmatched",status="405"} 1`,
		`servo_http_requests_total{method="GET",route="/api/v1/assets",status="401"} 1`,
		`servo_http_requests_total{method="GET",route="/api/v1/assets/:asset",status="404"} 1`,
		`servo_http_requests_total{method="GET",route="/test/conflict/:id",status="409"} 1`,
		`servo_http_requests_total{method="GET",route="/test/broken",status="500"} 1`,
		`servo_http_requests_total{method="GET",route="/test/panic",status="500"} 1`,
		`servo_http_requests_total{method="GET",route="/api/v1/openapi.json",status="200"} 1`,
		`servo_http_request_duration_seconds_count{method="GET",route="/healthz"} 2`,
		`servo_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"} 2`,
		`servo_http_request_duration_seconds_count{method="GET",route="unmatched"} 3`,
		`# TYPE servo_http_requests_total counter`,
		`# TYPE servo_http_request_duration_seconds histogram`,
		`# TYPE servo_db_open_connections gauge`,
		`# TYPE servo_db_in_use_connections gauge`,
		`# TYPE servo_db_idle_connections gauge`,
		`# TYPE servo_db_max_open_connections gauge`,
		`# TYPE servo_db_wait_count_total counter`,
		`# TYPE servo_db_wait_duration_seconds_total counter`,
		`# TYPE go_goroutines gauge`,
		`# TYPE process_cpu_seconds_total counter`,
	} {
		if !hasLine(body, line) {
			t.Errorf("/metrics lacks the line\n  %s", line)
		}
	}
	// Routes are patterns, never raw paths.
	for _, raw := range []string{"secret-asset-name", "/no/such/route", "no-such-route", "/test/conflict/42", "BREW", "/api/v1/*"} {
		if strings.Contains(body, raw) {
			t.Errorf("/metrics shows the raw %q", raw)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

func TestMetricsPool(t *testing.T) {
	t.Parallel()
	pool := fixedPool{MaxOpenConnections: 20, OpenConnections: 7, InUse: 3, Idle: 4, WaitCount: 11, WaitDuration: 1500 * time.Millisecond}
	withPool, err := api.New(api.Config{}, api.Deps{DB: okPinger{}, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(withPool.Handler())
	t.Cleanup(ts.Close)
	body := scrape(t, ts.URL)
	for _, line := range []string{
		"servo_db_max_open_connections 20",
		"servo_db_open_connections 7",
		"servo_db_in_use_connections 3",
		"servo_db_idle_connections 4",
		"servo_db_wait_count_total 11",
		"servo_db_wait_duration_seconds_total 1.5",
	} {
		if !hasLine(body, line) {
			t.Errorf("/metrics lacks the line %q:\n%s", line, body)
		}
	}

	// Without a pool there are no pool metrics, and a second server in the
	// same process has a registry of its own.
	noPool, err := api.New(api.Config{}, api.Deps{DB: okPinger{}})
	if err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(noPool.Handler())
	t.Cleanup(ts2.Close)
	body = scrape(t, ts2.URL)
	if strings.Contains(body, "servo_db_") {
		t.Errorf("/metrics without a pool shows pool metrics:\n%s", body)
	}
	if strings.Contains(body, `servo_http_requests_total{method="GET",route="/metrics"`) {
		t.Errorf("the second server counted the first server's scrape:\n%s", body)
	}
	if !strings.Contains(scrape(t, ts2.URL), `servo_http_requests_total{method="GET",route="/metrics",status="200"} 1`) {
		t.Error("a scrape is not counted by the next one")
	}
}
