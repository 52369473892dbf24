package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestAPILogsNeverHoldKeys captures every log entry at debug level while
// keys travel in headers and bodies, and scans them for any secret.
func TestAPILogsNeverHoldKeys(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	e := newEnvWithLog(t, zap.New(core))
	bogus := "servo_" + strings.Repeat("Z", 43)
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: e.keyA})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/assets", key: bogus})
	e.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/assets", key: e.keyA, headers: map[string]string{"X-Tenant-ID": e.b}})
	var created struct {
		Key string `json:"key"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tenants/" + e.b + "/keys", key: adminKey, body: map[string]any{"name": "x"}}).json(t, &created)
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets", key: created.Key})
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/assets", key: e.keyA, body: `{"name": "` + e.keyB + `"`})

	entries := logs.All()
	if len(entries) < 6 {
		t.Fatalf("only %d log entries captured", len(entries))
	}
	secrets := []string{e.keyA, e.keyB, bogus, adminKey, created.Key}
	sawTenant := false
	for _, en := range entries {
		raw, err := json.Marshal(map[string]any{"msg": en.Message, "fields": en.ContextMap()})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(raw), s) || strings.Contains(string(raw), s[6:20]) {
				t.Fatalf("a log entry holds a key: %s", raw)
			}
		}
		if en.Message == "request" && en.ContextMap()["tenant"] == "tenant:"+e.a {
			sawTenant = true
		}
	}
	if !sawTenant {
		t.Fatalf("no request log names tenant %s", e.a)
	}
}
