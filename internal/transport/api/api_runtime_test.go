package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testutil"
)

// waitStatus polls GET /runs/{id} until the status is one of the final ones
// the SDK waits for.
func (e *env) waitStatus(key, id string) sdkRun {
	e.t.Helper()
	var run sdkRun
	ended := testutil.Eventually(20*time.Second, func() bool {
		run = sdkRun{}
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + id, key: key}).json(e.t, &run)
		switch run.Status {
		case "success", "failed", "skipped", "upstream_failed", "cancelled":
			return true
		}
		return false
	})
	if !ended {
		e.t.Fatalf("run %s still %s", id, run.Status)
	}
	return run
}

func TestAPIRunsExecute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A compute spec naming an executable the operator has not allowed is
	// refused at write time.
	for _, argv := range [][]string{{"/bin/sh", "-c", "id"}, {"python3", "-c", "1"}, {"rm", "-rf", "/"}} {
		e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/assets", key: e.keyA,
			body: map[string]any{"name": "x-" + argv[0], "compute": map[string]any{"kind": "command", "argv": argv}}})
	}
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/assets", key: e.keyA,
		body: map[string]any{"name": "hook", "compute": map[string]any{"kind": "http", "url": "http://169.254.169.254/latest"}}})
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/assets", key: e.keyA,
		body: map[string]any{"name": "typo", "compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "shell": true}}})

	var a assetBody
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: e.keyA,
		body: map[string]any{"name": "echoed", "compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo", "hello from", "$SERVO_ASSET_NAME; rm -rf /"}, "timeout": "10s"}}}).json(t, &a)
	observed := e.asset(e.keyA, "observed")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "echoed", "downstream": "observed"}})
	_ = observed

	var trig struct {
		RunID string `json:"run_id"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: e.keyA, body: map[string]any{"asset_name": "echoed"}}).json(t, &trig)
	run := e.waitStatus(e.keyA, trig.RunID)
	if run.Status != "success" || run.CompletedAt == nil {
		t.Fatalf("materialization = %+v", run)
	}
	var logs struct {
		Logs      string `json:"logs"`
		Truncated bool   `json:"truncated"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + trig.RunID + "/logs", key: e.keyA}).json(t, &logs)
	// argv is passed as is: no shell expands or splits it.
	if logs.Logs != "hello from $SERVO_ASSET_NAME; rm -rf /\n" || logs.Truncated {
		t.Fatalf("logs = %+v", logs)
	}
	var evs struct {
		Events []struct {
			From, To, Reason string
			At               string
			Attempt          int
		} `json:"events"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + trig.RunID + "/events", key: e.keyA}).json(t, &evs)
	var path []string
	for _, ev := range evs.Events {
		path = append(path, ev.From+">"+ev.To)
		if !tsPattern.MatchString(ev.At) || ev.Attempt != 1 {
			t.Fatalf("event %+v", ev)
		}
	}
	if strings.Join(path, " ") != "pending>queued queued>running running>succeeded" {
		t.Fatalf("events = %v", path)
	}

	// A workflow run reports its steps.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "pipeline", "assets": []string{"observed", "echoed"}}})
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/workflows/pipeline/trigger", key: e.keyA}).json(t, &trig)
	if run := e.waitStatus(e.keyA, trig.RunID); run.Status != "success" {
		t.Fatalf("workflow run = %+v", run)
	}
	var wr struct {
		sdkRun
		Steps []sdkRun `json:"steps"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflow-runs/" + trig.RunID, key: e.keyA}).json(t, &wr)
	if len(wr.Steps) != 2 {
		t.Fatalf("steps = %+v", wr.Steps)
	}
	for _, s := range wr.Steps {
		if s.Status != "success" || s.WorkflowName == nil || *s.WorkflowName != "pipeline" || s.AssetName == nil {
			t.Fatalf("step = %+v", s)
		}
	}
	// The dependency decided the order: echoed finished before observed started.
	var runs struct {
		Runs []sdkRun `json:"runs"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs?workflow_name=pipeline", key: e.keyA}).json(t, &runs)
	if len(runs.Runs) != 3 {
		t.Fatalf("runs of pipeline = %d, want the run and its 2 steps", len(runs.Runs))
	}

	// Tenant B sees none of it.
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + trig.RunID + "/logs", key: e.keyB})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + trig.RunID + "/events", key: e.keyB})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/workflow-runs/" + trig.RunID, key: e.keyB})

	// Removing the compute spec makes the asset observed again.
	var patched assetBody
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/assets/echoed", key: e.keyA, body: `{"compute": null}`}).json(t, &patched)
	var raw map[string]map[string]any
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/echoed", key: e.keyA}).json(t, &raw)
	if raw["asset"]["compute"] != nil {
		t.Fatalf("compute after null patch = %v", raw["asset"]["compute"])
	}
}
