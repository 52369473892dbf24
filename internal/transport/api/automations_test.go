package api_test

import (
	"net/http"
	"testing"
)

func TestAutomationsAPI(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	e.asset(e.keyA, "auto.raw")
	e.asset(e.keyA, "auto.mart")
	e.asset(e.keyB, "auto.b")
	var created struct {
		Automation struct {
			ID          string   `json:"id"`
			Mode        string   `json:"mode"`
			Assets      []string `json:"assets"`
			MinInterval string   `json:"min_interval"`
			Enabled     bool     `json:"enabled"`
		} `json:"automation"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/automations", key: e.keyA, body: map[string]any{
		"name": "refresh-mart", "on": "upstream_updated", "mode": "all", "assets": []string{"auto.raw"}, "asset": "auto.mart", "min_interval": "10m",
	}}).json(t, &created)
	if created.Automation.Mode != "all" || len(created.Automation.Assets) != 1 || created.Automation.MinInterval != "10m0s" || !created.Automation.Enabled {
		t.Fatalf("created %+v", created.Automation)
	}
	for _, tc := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"name": "x", "on": "whenever", "assets": []string{"auto.raw"}, "asset": "auto.mart"}, 422, "on"},
		{map[string]any{"name": "x", "on": "upstream_updated", "assets": []string{}, "asset": "auto.mart"}, 422, "assets"},
		{map[string]any{"name": "x", "on": "upstream_updated", "assets": []string{"auto.raw"}}, 422, "workflow"},
		{map[string]any{"name": "x", "on": "upstream_updated", "assets": []string{"auto.b"}, "asset": "auto.mart"}, 422, "assets"},
		{map[string]any{"name": "x", "on": "upstream_updated", "assets": []string{"auto.raw"}, "asset": "auto.mart", "min_interval": "-1s"}, 422, "min_interval"},
		{map[string]any{"name": "x", "on": "upstream_updated", "assets": "auto.raw", "asset": "auto.mart"}, 400, ""},
		{map[string]any{"name": "refresh-mart", "on": "upstream_updated", "assets": []string{"auto.raw"}, "asset": "auto.mart"}, 409, ""},
	} {
		res := e.do(req{method: "POST", path: "/api/v1/automations", key: e.keyA, body: tc.body})
		if res.status != tc.status {
			t.Errorf("POST %v: %d %s, want %d", tc.body, res.status, res.body, tc.status)
			continue
		}
		if tc.field != "" {
			if _, ok := res.errBody(t).Details[tc.field]; !ok {
				t.Errorf("POST %v: %s does not name %s", tc.body, res.body, tc.field)
			}
		}
	}
	var list struct {
		Total int `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/automations", key: e.keyA}).json(t, &list)
	if list.Total != 1 {
		t.Fatalf("A has %d automations after bad input, want 1", list.Total)
	}
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/automations/refresh-mart", key: e.keyA, body: map[string]any{"enabled": false}}).json(t, &created)
	if created.Automation.Enabled {
		t.Fatal("still enabled")
	}
	e.must(http.StatusUnprocessableEntity, req{method: "PATCH", path: "/api/v1/automations/refresh-mart", key: e.keyA, body: map[string]any{"mode": "some"}})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/automations/" + created.Automation.ID + "/evaluations", key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/automations/refresh-mart", key: e.keyB})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/automations/refresh-mart", key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/automations/" + created.Automation.ID, key: e.keyA})
}
