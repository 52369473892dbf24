package api_test

import (
	"net/http"
	"strings"
	"testing"
)

type scheduleBody struct {
	Schedule struct {
		ID              string  `json:"id"`
		Name            string  `json:"name"`
		Workflow        string  `json:"workflow"`
		WorkflowVersion *int    `json:"workflow_version"`
		Enabled         bool    `json:"enabled"`
		Partition       string  `json:"partition"`
		NextTickAt      *string `json:"next_tick_at"`
	} `json:"schedule"`
}

func TestSchedulesAPI(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	e.asset(e.keyA, "raw.orders")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "nightly", "assets": []string{"raw.orders"}}})

	var sc scheduleBody
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/schedules", key: e.keyA, body: map[string]any{
		"name": "nightly-2am", "workflow": "nightly", "cron": "0 2 * * *", "timezone": "Europe/Berlin", "partition": "previous_day",
	}}).json(t, &sc)
	if sc.Schedule.NextTickAt == nil || sc.Schedule.Workflow != "nightly" || !sc.Schedule.Enabled || sc.Schedule.Partition != "previous_day" {
		t.Fatalf("created %+v", sc.Schedule)
	}
	// Bad input is 4xx with the field, and stores nothing.
	for _, tc := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"name": "x", "workflow": "nightly", "cron": "0 2 * *"}, 422, "cron"},
		{map[string]any{"name": "x", "workflow": "nightly", "cron": "0 2 * * *", "timezone": "Mars/Base"}, 422, "timezone"},
		{map[string]any{"name": "x", "workflow": "nightly", "cron": "@every 1h"}, 422, "cron"},
		{map[string]any{"name": "x", "workflow": "nope", "cron": "0 2 * * *"}, 422, "workflow"},
		{map[string]any{"name": "x", "workflow": "nightly", "cron": "0 2 * * *", "max_catchup": 1000}, 422, "max_catchup"},
		{map[string]any{"name": "x", "workflow": "nightly", "cron": "0 2 * * *", "partition": "weekly"}, 422, "partition"},
		{map[string]any{"name": "x", "workflow": "nightly", "cron": 5}, 400, ""},
		{map[string]any{"name": "x", "workflow": "nightly", "cron": "0 2 * * *", "surprise": true}, 400, ""},
		{map[string]any{"name": "nightly-2am", "workflow": "nightly", "cron": "0 3 * * *"}, 409, ""},
	} {
		res := e.do(req{method: "POST", path: "/api/v1/schedules", key: e.keyA, body: tc.body})
		if res.status != tc.status {
			t.Errorf("POST %v: %d %s, want %d", tc.body, res.status, res.body, tc.status)
			continue
		}
		if tc.field != "" {
			if _, ok := res.errBody(t).Details[tc.field]; !ok {
				t.Errorf("POST %v: details %s do not name %s", tc.body, res.body, tc.field)
			}
		}
	}
	var list struct {
		Schedules []struct{ Name string } `json:"schedules"`
		Total     int                     `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/schedules", key: e.keyA}).json(t, &list)
	if list.Total != 1 || list.Schedules[0].Name != "nightly-2am" {
		t.Fatalf("list after bad input: %+v", list)
	}

	// Pause and resume by name; read by id; the tick log starts empty.
	var got scheduleBody
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/schedules/nightly-2am", key: e.keyA, body: map[string]any{"enabled": false}}).json(t, &got)
	if got.Schedule.Enabled {
		t.Fatal("still enabled after pause")
	}
	e.must(http.StatusUnprocessableEntity, req{method: "PATCH", path: "/api/v1/schedules/nightly-2am", key: e.keyA, body: map[string]any{"timezone": "Nowhere/Land"}})
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/schedules/" + sc.Schedule.ID, key: e.keyA, body: map[string]any{"enabled": true}}).json(t, &got)
	if !got.Schedule.Enabled || got.Schedule.NextTickAt == nil {
		t.Fatalf("resumed: %+v", got.Schedule)
	}
	res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/schedules/nightly-2am/ticks", key: e.keyA})
	if strings.TrimSpace(string(res.body)) != `{"ticks":[]}` {
		t.Fatalf("ticks: %s", res.body)
	}
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/schedules/nightly-2am/ticks?limit=0", key: e.keyA})

	// Inline on a workflow: both are created, or neither.
	var wf struct {
		Workflow struct{ Name string } `json:"workflow"`
		Schedule *struct {
			Name     string `json:"name"`
			Workflow string `json:"workflow"`
		} `json:"schedule"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{
		"name": "hourly-flow", "assets": []string{"raw.orders"}, "schedule": map[string]any{"cron": "@hourly"},
	}}).json(t, &wf)
	if wf.Schedule == nil || wf.Schedule.Name != "hourly-flow" || wf.Schedule.Workflow != "hourly-flow" {
		t.Fatalf("inline schedule: %+v", wf.Schedule)
	}
	res = e.do(req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{
		"name": "broken-flow", "assets": []string{"raw.orders"}, "schedule": map[string]any{"cron": "61 * * * *"},
	}})
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("inline bad cron: %d %s", res.status, res.body)
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/workflows/broken-flow", key: e.keyA})

	// Tenant B sees none of it, by id or by name.
	for _, p := range []string{"/api/v1/schedules/" + sc.Schedule.ID, "/api/v1/schedules/nightly-2am", "/api/v1/schedules/hourly-flow/ticks"} {
		e.must(http.StatusNotFound, req{method: "GET", path: p, key: e.keyB})
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/schedules", key: e.keyB}).json(t, &list)
	if list.Total != 0 {
		t.Fatalf("B lists %d schedules", list.Total)
	}

	// Deleting the workflow deletes its schedules.
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/workflows/hourly-flow", key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/schedules/hourly-flow", key: e.keyA})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/schedules/nightly-2am", key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/schedules/nightly-2am", key: e.keyA})
}
