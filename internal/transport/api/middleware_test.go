package api_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/servo-data/servo/internal/transport/api"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		incoming string
		target   string
		wantEcho bool // the incoming id comes back; otherwise a new UUID does
	}{
		{name: "generated when absent", target: "/healthz"},
		{name: "echoed when given", incoming: "abc-123_x.y:z", target: "/healthz", wantEcho: true},
		{name: "echoed on a 503", incoming: "req-503", target: "/readyz", wantEcho: true},
		{name: "echoed on a 404", incoming: "req-404", target: "/nowhere", wantEcho: true},
		{name: "replaced when it holds spaces", incoming: "a b", target: "/healthz"},
		{name: "replaced when it holds control characters", incoming: "a\x1bb", target: "/healthz"},
		{name: "replaced when too long", incoming: strings.Repeat("a", 129), target: "/healthz"},
		{name: "generated on a 404", target: "/nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := &pinger{}
			if tt.target == "/readyz" {
				db.err = errors.New("down")
			}
			b := setup(t, db, api.Config{})
			h := http.Header{}
			if tt.incoming != "" {
				h.Set(api.HeaderRequestID, tt.incoming)
			}
			rec := b.do(t, http.MethodGet, tt.target, h)
			got := rec.Header().Get(api.HeaderRequestID)
			if tt.wantEcho {
				if got != tt.incoming {
					t.Errorf("X-Request-ID = %q, want %q echoed", got, tt.incoming)
				}
				return
			}
			if _, err := uuid.Parse(got); err != nil {
				t.Errorf("X-Request-ID = %q, want a generated UUID", got)
			}
		})
	}

	t.Run("each request gets its own", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &pinger{}, api.Config{})
		a := b.do(t, http.MethodGet, "/healthz", nil).Header().Get(api.HeaderRequestID)
		c := b.do(t, http.MethodGet, "/healthz", nil).Header().Get(api.HeaderRequestID)
		if a == "" || a == c {
			t.Errorf("request ids %q and %q, want two different ones", a, c)
		}
	})
}

func TestRequestIDReachesHandlers(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{})
	var seen string
	b.server.Echo().GET("/probe-id", func(c echo.Context) error {
		seen = api.RequestIDFromContext(c.Request().Context())
		return c.NoContent(http.StatusNoContent)
	})
	rec := b.do(t, http.MethodGet, "/probe-id", http.Header{"X-Request-Id": {"ctx-id"}})
	if rec.Code != http.StatusNoContent || seen != "ctx-id" {
		t.Errorf("status %d, handler saw request id %q; want 204 and ctx-id", rec.Code, seen)
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{})
	b.server.Echo().POST("/things/:id", func(c echo.Context) error {
		return c.JSON(http.StatusCreated, map[string]string{"ok": "yes"})
	})
	req := httptest.NewRequest(http.MethodPost, "/things/secret-path-id?token=secret-query", strings.NewReader(`{"password":"secret-body"}`))
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Cookie", "session=secret-cookie")
	req.Header.Set(api.HeaderRequestID, "log-me")
	rec := httptest.NewRecorder()
	b.server.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d", rec.Code)
	}

	entries := b.logs.FilterMessage("request").All()
	if len(entries) != 1 {
		t.Fatalf("got %d request log entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Level != zapcore.InfoLevel {
		t.Errorf("level = %s, want info", e.Level)
	}
	f := e.ContextMap()
	want := map[string]any{"method": "POST", "route": "/things/:id", "status": int64(201), "request_id": "log-me"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("field %s = %#v, want %#v", k, f[k], v)
		}
	}
	if ms, ok := f["latency_ms"].(float64); !ok || ms < 0 {
		t.Errorf("latency_ms = %#v, want a duration in milliseconds", f["latency_ms"])
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	for _, entry := range b.logs.All() {
		buf, err := enc.EncodeEntry(entry.Entry, entry.Context)
		if err != nil {
			t.Fatal(err)
		}
		if line := buf.String(); strings.Contains(line, "secret") {
			t.Errorf("log entry leaks a secret: %s", line)
		}
	}
}

func TestProbeRequestsLogAtDebug(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{})
	b.do(t, http.MethodGet, "/healthz", nil)
	b.do(t, http.MethodGet, "/api/v1/health", nil)
	levels := map[string]zapcore.Level{}
	for _, e := range b.logs.FilterMessage("request").All() {
		levels[e.ContextMap()["route"].(string)] = e.Level
	}
	if levels["/healthz"] != zapcore.DebugLevel || levels["/api/v1/health"] != zapcore.InfoLevel {
		t.Errorf("levels = %v, want /healthz at debug and /api/v1/health at info", levels)
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{})
	b.server.Echo().GET("/boom", func(echo.Context) error {
		panic("secret internal state")
	})
	rec := b.do(t, http.MethodGet, "/boom", http.Header{"X-Request-Id": {"panic-1"}})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if got := rec.Header().Get(api.HeaderRequestID); got != "panic-1" {
		t.Errorf("X-Request-ID = %q, want panic-1", got)
	}
	body := decode[api.ErrorBody](t, rec)
	if body.Error.Code != "internal" || body.Error.Message != "Internal Server Error" || body.Error.RequestID != "panic-1" || len(body.Error.Details) != 0 {
		t.Errorf("body = %+v", body)
	}

	panics := b.logs.FilterMessage("panic while handling request").All()
	if len(panics) != 1 {
		t.Fatalf("got %d panic log entries, want 1", len(panics))
	}
	f := panics[0].ContextMap()
	if f["panic"] != "secret internal state" || f["request_id"] != "panic-1" || !strings.Contains(f["stack"].(string), "TestPanicRecovery") {
		t.Errorf("panic log fields = %v", f)
	}
	reqs := b.logs.FilterMessage("request").All()
	if len(reqs) != 1 || reqs[0].ContextMap()["status"] != int64(500) || reqs[0].Level != zapcore.ErrorLevel {
		t.Errorf("request log = %+v, want one error entry with status 500", reqs)
	}

	// The server goes on serving.
	if rec := b.do(t, http.MethodGet, "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("after a panic /healthz = %d", rec.Code)
	}
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  echo.HandlerFunc
		method   string
		target   string
		wantCode int
		wantMsg  string
	}{
		{
			name:     "unknown route",
			method:   http.MethodGet,
			target:   "/nowhere",
			wantCode: http.StatusNotFound, wantMsg: "no such route",
		},
		{
			name:     "wrong method",
			method:   http.MethodPost,
			target:   "/healthz",
			wantCode: http.StatusMethodNotAllowed, wantMsg: "Method Not Allowed",
		},
		{
			name:     "plain error hides its text",
			handler:  func(echo.Context) error { return errors.New("pq: password=hunter2 rejected") },
			method:   http.MethodGet,
			target:   "/fail",
			wantCode: http.StatusInternalServerError, wantMsg: "Internal Server Error",
		},
		{
			name: "server HTTP error hides its message",
			handler: func(echo.Context) error {
				return echo.NewHTTPError(http.StatusBadGateway, "upstream hunter2 at 10.1.1.1")
			},
			method:   http.MethodGet,
			target:   "/fail",
			wantCode: http.StatusBadGateway, wantMsg: "Bad Gateway",
		},
		{
			name: "client HTTP error keeps its message",
			handler: func(echo.Context) error {
				return echo.NewHTTPError(http.StatusBadRequest, "name must not be empty")
			},
			method:   http.MethodGet,
			target:   "/fail",
			wantCode: http.StatusBadRequest, wantMsg: "name must not be empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, &pinger{}, api.Config{})
			if tt.handler != nil {
				b.server.Echo().GET("/fail", tt.handler)
			}
			rec := b.do(t, tt.method, tt.target, http.Header{"X-Request-Id": {"err-1"}})
			if rec.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Errorf("body leaks internals: %s", rec.Body)
			}
			body := decode[api.ErrorBody](t, rec)
			if body.Error.Message != tt.wantMsg || body.Error.RequestID != "err-1" || body.Error.Code == "" {
				t.Errorf("body = %+v, want message %q", body, tt.wantMsg)
			}
			reqs := b.logs.FilterMessage("request").All()
			if len(reqs) != 1 || reqs[0].ContextMap()["status"] != int64(tt.wantCode) {
				t.Errorf("request log = %+v, want one entry with status %d", reqs, tt.wantCode)
			}
			if tt.wantCode >= 500 {
				if _, ok := reqs[0].ContextMap()["error"]; !ok {
					t.Errorf("server error logged without its cause: %v", reqs[0].ContextMap())
				}
			}
		})
	}
}

func TestUnmatchedRouteIsLoggedAsSuch(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{})
	b.do(t, http.MethodGet, "/users/alice@example.com/secrets", nil)
	reqs := b.logs.FilterMessage("request").All()
	if len(reqs) != 1 {
		t.Fatalf("got %d request log entries, want 1", len(reqs))
	}
	if f := reqs[0].ContextMap(); f["route"] != "unmatched" || f["status"] != int64(404) {
		t.Errorf("log fields = %v, want route unmatched and status 404", f)
	}
}
