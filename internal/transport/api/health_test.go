package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/servo-data/servo/internal/transport/api"
)

// pinger is a Pinger whose answer a test chooses.
type pinger struct {
	err   error
	block bool // wait for the context to end instead of answering
	calls atomic.Int32
	// deadline is how far off the context's deadline was at the last call.
	deadline atomic.Int64
}

func (p *pinger) Ping(ctx context.Context) error {
	p.calls.Add(1)
	if d, ok := ctx.Deadline(); ok {
		p.deadline.Store(int64(time.Until(d)))
	}
	if p.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return p.err
}

// stubborn ignores its context and never answers until released.
type stubborn struct{ release chan struct{} }

func (s stubborn) Ping(context.Context) error {
	<-s.release
	return nil
}

type testBundle struct {
	server *api.Server
	logs   *observer.ObservedLogs
}

func setup(t *testing.T, db api.Pinger, cfg api.Config) *testBundle {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	s, err := api.New(cfg, api.Deps{DB: db, Log: zap.New(core), Version: "1.2.3-test"})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{server: s, logs: logs}
}

// do sends a request to the server's handler and returns the recorder.
func (b *testBundle) do(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	b.server.Handler().ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
	var v T
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	return v
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()

	dbDown := errors.New(`dial tcp 10.0.0.5:5432: password authentication failed for user "servo_secret"`)
	tests := []struct {
		name       string
		db         *pinger
		target     string
		wantCode   int
		wantStatus api.StatusResponse
		wantHealth *api.HealthResponse
		wantPings  int32
	}{
		{
			name: "healthz is ok with the database up", db: &pinger{}, target: "/healthz",
			wantCode: 200, wantStatus: api.StatusResponse{Status: "ok"},
		},
		{
			name: "healthz is ok with the database down", db: &pinger{err: dbDown}, target: "/healthz",
			wantCode: 200, wantStatus: api.StatusResponse{Status: "ok"},
		},
		{
			name: "readyz is ok when the database answers", db: &pinger{}, target: "/readyz",
			wantCode: 200, wantStatus: api.StatusResponse{Status: "ok"}, wantPings: 1,
		},
		{
			name: "readyz is 503 when the ping fails", db: &pinger{err: dbDown}, target: "/readyz",
			wantCode: 503, wantStatus: api.StatusResponse{Status: "unavailable"}, wantPings: 1,
		},
		{
			name: "readyz is 503 when the ping times out", db: &pinger{block: true}, target: "/readyz",
			wantCode: 503, wantStatus: api.StatusResponse{Status: "unavailable"}, wantPings: 1,
		},
		{
			name: "health reports ok and the version", db: &pinger{}, target: "/api/v1/health",
			wantCode:   200,
			wantHealth: &api.HealthResponse{Status: "ok", Database: "ok", Version: "1.2.3-test"},
			wantPings:  1,
		},
		{
			name: "health is 503 with the database down", db: &pinger{err: dbDown}, target: "/api/v1/health",
			wantCode:   503,
			wantHealth: &api.HealthResponse{Status: "unavailable", Database: "unavailable", Version: "1.2.3-test"},
			wantPings:  1,
		},
		{
			name: "health is 503 when the ping times out", db: &pinger{block: true}, target: "/api/v1/health",
			wantCode:   503,
			wantHealth: &api.HealthResponse{Status: "unavailable", Database: "unavailable", Version: "1.2.3-test"},
			wantPings:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.db, api.Config{PingTimeout: 50 * time.Millisecond})
			start := time.Now()
			rec := b.do(t, http.MethodGet, tt.target, nil)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("request took %s, want it bounded by the ping timeout", elapsed)
			}
			if rec.Code != tt.wantCode {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			raw := rec.Body.String()
			if strings.Contains(raw, "servo_secret") || strings.Contains(raw, "10.0.0.5") {
				t.Errorf("body leaks the database error: %s", raw)
			}
			if tt.wantHealth != nil {
				if got := decode[api.HealthResponse](t, rec); got != *tt.wantHealth {
					t.Errorf("body = %+v, want %+v", got, *tt.wantHealth)
				}
			} else if got := decode[api.StatusResponse](t, rec); got != tt.wantStatus {
				t.Errorf("body = %+v, want %+v", got, tt.wantStatus)
			}
			if got := tt.db.calls.Load(); got != tt.wantPings {
				t.Errorf("pinged %d times, want %d", got, tt.wantPings)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}
}

func TestPingTimeoutDefaultsToTwoSeconds(t *testing.T) {
	t.Parallel()
	db := &pinger{}
	b := setup(t, db, api.Config{})
	if rec := b.do(t, http.MethodGet, "/readyz", nil); rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	got := time.Duration(db.deadline.Load())
	if got <= time.Second || got > 2*time.Second {
		t.Errorf("ping deadline was %s away, want about 2s", got)
	}
}

func TestPingThatIgnoresItsContext(t *testing.T) {
	t.Parallel()
	db := stubborn{release: make(chan struct{})}
	defer close(db.release)
	b := setup(t, db, api.Config{PingTimeout: 50 * time.Millisecond})
	done := make(chan int, 1)
	go func() { done <- b.do(t, http.MethodGet, "/api/v1/health", nil).Code }()
	select {
	case code := <-done:
		if code != http.StatusServiceUnavailable {
			t.Errorf("status = %d, want 503", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a ping that ignores its context held the request past the timeout")
	}
}

func TestPingFailureIsLogged(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{err: errors.New("connection refused")}, api.Config{})
	rec := b.do(t, http.MethodGet, "/api/v1/health", http.Header{"X-Request-Id": {"req-42"}})
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d", rec.Code)
	}
	entries := b.logs.FilterMessage("database ping failed").All()
	if len(entries) != 1 {
		t.Fatalf("got %d ping-failure log entries, want 1", len(entries))
	}
	ctx := entries[0].ContextMap()
	if ctx["error"] != "connection refused" || ctx["request_id"] != "req-42" {
		t.Errorf("log fields = %v, want the error and the request id", ctx)
	}
}

func TestNewRequiresPinger(t *testing.T) {
	t.Parallel()
	s, err := api.New(api.Config{}, api.Deps{})
	if err == nil || s != nil {
		t.Errorf("New without a Pinger = %v, %v; want nil and an error", s, err)
	}
}
