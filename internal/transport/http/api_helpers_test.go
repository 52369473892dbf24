package httpapi_test

import (
	"bytes"
	"time"

	"github.com/google/uuid"

	"context"
	"encoding/json"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/automation"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/schedule"
	"github.com/servo-data/servo/internal/testdb"
	httpapi "github.com/servo-data/servo/internal/transport/http"
)

const adminKey = "test-admin-key-0123456789abcdef0123456789"

// env is a real server on a loopback listener, on PostgreSQL as the
// application role, with two tenants and their keys.
type env struct {
	t     *testing.T
	url   string
	svc   *service.Service
	srv   *httpapi.Server
	a, b  string // tenant ids
	keyA  string
	keyB  string
	keyA2 string // a second key of tenant A, revoked by some tests
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWithLog(t, zap.NewNop())
}

// newEnvWithoutRuntime is an env whose triggered runs stay pending, for
// tests of the run API itself (cancelling a pending run, say).
func newEnvWithoutRuntime(t *testing.T) *env {
	t.Helper()
	return newEnvOpts(t, zap.NewNop(), false)
}

func newEnvWithLog(t *testing.T, log *zap.Logger) *env {
	t.Helper()
	return newEnvOpts(t, log, true)
}

func newEnvOpts(t *testing.T, log *zap.Logger, withRuntime bool) *env {
	t.Helper()
	return newEnvConfig(t, log, withRuntime, httpapi.Config{})
}

// newEnvConfig is newEnvOpts with a server configuration of the test's own.
func newEnvConfig(t *testing.T, log *zap.Logger, withRuntime bool, cfg httpapi.Config) *env {
	t.Helper()
	return newEnvFull(t, log, withRuntime, cfg, openlineage.Lenient)
}

// newEnvFull builds every env: the server configuration and the
// OpenLineage validation mode are the test's.
func newEnvFull(t *testing.T, log *zap.Logger, withRuntime bool, cfg httpapi.Config, olMode openlineage.Mode) *env {
	t.Helper()
	return newEnvOn(t, testdb.Shared(t), log, withRuntime, cfg, olMode)
}

// newEnvOn is newEnvFull on a database of the test's choice: a test that
// writes global rows, which every tenant sees, takes a database of its own
// (testdb.Fresh, migrated) so that other tests' counts are not disturbed.
func newEnvOn(t *testing.T, d *testdb.Database, log *zap.Logger, withRuntime bool, cfg httpapi.Config, olMode openlineage.Mode) *env {
	t.Helper()
	st := testdb.Open(t, d)
	svc := service.New(st, nil, nil)
	bf := backfill.New(st, svc, nil)
	if withRuntime {
		// A runtime that works runs, on a queue of this test's own (tests
		// share the database), allowing one harmless command.
		db := runtime.DB{Pool: st.SQLDB(), Postgres: true, TxFrom: repository.SQLTx}
		rcfg := runtime.Config{
			Policy:            runtime.Policy{Commands: []string{"/bin/echo"}},
			FetchPollInterval: 50 * time.Millisecond, WaitPoll: 50 * time.Millisecond, CancelPoll: 100 * time.Millisecond,
			Lease: time.Minute, Queue: "api_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16],
		}
		d, err := runtime.NewDispatcher(db, rcfg.Queue, log)
		if err != nil {
			t.Fatal(err)
		}
		svc = service.New(st, d, rcfg.ComputePolicy())
		rt, err := runtime.New(svc, svc.Engine(), d, rcfg, log)
		if err != nil {
			t.Fatal(err)
		}
		bf = backfill.New(st, svc, d)
		rt.UseBackfills(bf)
		if err := rt.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = rt.Stop(ctx)
		})
	}
	srv, err := httpapi.New(cfg, httpapi.Deps{DB: st, Log: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	fresh := freshness.New(st, nil)
	svc.ObserveRuns(fresh)
	ol, err := openlineage.New(svc, st, openlineage.Options{Log: log, Mode: olMode, OutputsCompleted: fresh.OutputsCompleted})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAPI(svc, httpapi.APIOptions{AdminKey: adminKey, OpenLineage: ol, Backfills: bf, Schedules: schedule.New(st, svc, nil), Freshness: fresh, Automations: automation.New(st, svc, nil)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, url: ts.URL, svc: svc, srv: srv, a: testdb.TenantID("a"), b: testdb.TenantID("b")}
	sys := domain.WithSystem(context.Background())
	for _, k := range []struct {
		tenant string
		dst    *string
	}{{e.a, &e.keyA}, {e.b, &e.keyB}, {e.a, &e.keyA2}} {
		secret, _, err := svc.CreateAPIKey(sys, service.CreateAPIKeyInput{TenantID: k.tenant, CreateTenant: true})
		if err != nil {
			t.Fatal(err)
		}
		*k.dst = secret
	}
	return e
}

// resp is a response with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.body, dst); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errBody decodes the error envelope and checks its shape.
func (r resp) errBody(t *testing.T) httpapi.ErrorDetail {
	t.Helper()
	var raw map[string]map[string]any
	r.json(t, &raw)
	e, ok := raw["error"]
	if !ok || len(raw) != 1 {
		t.Fatalf("error body %s lacks the error envelope", r.body)
	}
	for _, k := range []string{"code", "message", "details"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("error body %s lacks %q", r.body, k)
		}
	}
	var body httpapi.ErrorBody
	r.json(t, &body)
	return body.Error
}

type req struct {
	method  string
	path    string
	key     string
	body    any // nil, a string (sent raw) or a value sent as JSON
	headers map[string]string
}

func (e *env) do(r req) resp {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(r.method, e.url+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	for k, v := range r.headers {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: raw}
}

// must sends r and fails unless the status is want.
func (e *env) must(want int, r req) resp {
	e.t.Helper()
	res := e.do(r)
	if res.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, res.status, want, res.body)
	}
	if res.header.Get("X-Request-ID") == "" {
		e.t.Fatalf("%s %s: no X-Request-ID", r.method, r.path)
	}
	if want >= 400 {
		res.errBody(e.t)
	}
	return res
}
