package api_test

import (
	"net/http"
	"testing"
)

type depBody struct {
	Dependency struct {
		ID                string `json:"id"`
		UpstreamAssetID   string `json:"upstream_asset_id"`
		DownstreamAssetID string `json:"downstream_asset_id"`
		DependencyType    string `json:"dependency_type"`
		CreatedAt         string `json:"created_at"`
	} `json:"dependency"`
}

// sdkRun is what the servo SDK reads from GET /runs/{id}.
type sdkRun struct {
	ID           string         `json:"id"`
	RunID        string         `json:"run_id"`
	Status       string         `json:"status"`
	State        string         `json:"state"`
	AssetName    *string        `json:"asset_name"`
	WorkflowName *string        `json:"workflow_name"`
	Trigger      string         `json:"trigger"`
	PartitionKey *string        `json:"partition_key"`
	Attempt      int            `json:"attempt"`
	StartedAt    string         `json:"started_at"`
	CompletedAt  *string        `json:"completed_at"`
	Error        *string        `json:"error"`
	Metadata     map[string]any `json:"metadata"`
	CreatedAt    string         `json:"created_at"`
}

func (e *env) asset(key, name string) string {
	e.t.Helper()
	var b assetBody
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: key, body: map[string]any{"name": name}}).json(e.t, &b)
	return b.Asset.ID
}

func TestAPIDependenciesAndLineage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	raw, clean, mart := e.asset(e.keyA, "raw"), e.asset(e.keyA, "clean"), e.asset(e.keyA, "mart")
	var d1, d2 depBody
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "raw", "downstream": "clean", "dependency_type": "data"}}).json(t, &d1)
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": clean, "downstream": mart}}).json(t, &d2)
	if d1.Dependency.UpstreamAssetID != raw || d1.Dependency.DownstreamAssetID != clean || d2.Dependency.DependencyType != "data" || !tsPattern.MatchString(d1.Dependency.CreatedAt) {
		t.Fatalf("edges = %+v %+v", d1, d2)
	}
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "raw", "downstream": "clean", "dependency_type": "data"}})
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "mart", "downstream": "raw"}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "raw", "downstream": "raw"}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "raw", "downstream": "mart", "dependency_type": "blood"}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "raw"}})
	e.must(http.StatusNotFound, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "raw", "downstream": "ghost"}})

	var both struct {
		Upstream   []map[string]any `json:"upstream"`
		Downstream []map[string]any `json:"downstream"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/clean/dependencies", key: e.keyA}).json(t, &both)
	if len(both.Upstream) != 1 || len(both.Downstream) != 1 {
		t.Fatalf("dependencies of clean = %+v", both)
	}
	var one struct {
		Dependencies []map[string]any `json:"dependencies"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/clean/upstream", key: e.keyA}).json(t, &one)
	if len(one.Dependencies) != 1 || one.Dependencies[0]["upstream_asset_id"] != raw {
		t.Fatalf("upstream of clean = %+v", one)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/clean/downstream", key: e.keyA}).json(t, &one)
	if len(one.Dependencies) != 1 || one.Dependencies[0]["downstream_asset_id"] != mart {
		t.Fatalf("downstream of clean = %+v", one)
	}

	var lin struct {
		Root  map[string]any `json:"root"`
		Nodes []struct {
			Asset     map[string]any `json:"asset"`
			Depth     int            `json:"depth"`
			Direction string         `json:"direction"`
		} `json:"nodes"`
		Edges     []map[string]any `json:"edges"`
		Truncated *bool            `json:"truncated"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/mart/lineage?direction=upstream&depth=5&types=data,control", key: e.keyA}).json(t, &lin)
	if lin.Root["id"] != mart || len(lin.Nodes) != 2 || len(lin.Edges) != 2 || lin.Truncated == nil || *lin.Truncated {
		t.Fatalf("lineage = %+v", lin)
	}
	if lin.Nodes[0].Asset["name"] != "clean" || lin.Nodes[0].Depth != 1 || lin.Nodes[0].Direction != "upstream" || lin.Nodes[1].Depth != 2 {
		t.Fatalf("nodes = %+v", lin.Nodes)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/raw/lineage?direction=downstream&depth=1", key: e.keyA}).json(t, &lin)
	if len(lin.Nodes) != 1 || lin.Nodes[0].Asset["name"] != "clean" {
		t.Fatalf("depth-1 downstream = %+v", lin.Nodes)
	}
	for _, q := range []string{"depth=0", "depth=-1", "depth=51", "depth=1000000000", "direction=sideways", "types=data,blood", "depth=x"} {
		e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/assets/raw/lineage?" + q, key: e.keyA})
	}

	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/dependencies/" + d1.Dependency.ID, key: e.keyA})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/dependencies/" + d1.Dependency.ID, key: e.keyA})
	e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/dependencies/" + d1.Dependency.ID, key: e.keyA})
	e.must(http.StatusBadRequest, req{method: "DELETE", path: "/api/v1/dependencies/xyz", key: e.keyA})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/assets/clean/dependencies", key: e.keyA})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/clean/dependencies", key: e.keyA}).json(t, &both)
	if len(both.Upstream)+len(both.Downstream) != 0 {
		t.Fatalf("edges left after delete-all: %+v", both)
	}
}

func TestAPIWorkflowsAndRuns(t *testing.T) {
	t.Parallel()
	e := newEnvWithoutRuntime(t)
	e.asset(e.keyA, "extract")
	e.asset(e.keyA, "load")
	var wf struct {
		Workflow struct {
			ID       string   `json:"id"`
			Name     string   `json:"name"`
			Version  int      `json:"version"`
			Assets   []string `json:"assets"`
			AssetIDs []string `json:"asset_ids"`
		} `json:"workflow"`
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "nightly", "description": "d", "owner": "o", "tags": []string{"t"}, "assets": []string{"extract", "load"}}}).json(t, &wf)
	if wf.Workflow.Version != 1 || len(wf.Workflow.Assets) != 2 || wf.Workflow.Assets[0] != "extract" || wf.Workflow.Assets[1] != "load" {
		t.Fatalf("v1 = %+v", wf.Workflow)
	}
	v1 := wf.Workflow.ID
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "nightly", "assets": []string{"load"}}}).json(t, &wf)
	if wf.Workflow.Version != 2 {
		t.Fatalf("v2 = %+v", wf.Workflow)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflows/nightly", key: e.keyA}).json(t, &wf)
	if wf.Workflow.Version != 2 || len(wf.Workflow.Assets) != 1 {
		t.Fatalf("latest = %+v", wf.Workflow)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflows/nightly?version=1", key: e.keyA}).json(t, &wf)
	if wf.Workflow.ID != v1 {
		t.Fatalf("version 1 = %+v", wf.Workflow)
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/workflows/nightly?version=9", key: e.keyA})
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/workflows/nightly?version=0", key: e.keyA})
	var versions struct {
		Workflows []map[string]any `json:"workflows"`
		Total     int              `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflows/nightly/versions", key: e.keyA}).json(t, &versions)
	if versions.Total != 2 {
		t.Fatalf("versions = %+v", versions)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflows", key: e.keyA}).json(t, &versions)
	if versions.Total != 1 {
		t.Fatalf("workflow list = %+v", versions)
	}
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/workflows/nightly", key: e.keyA, body: map[string]any{"owner": "new"}})
	e.must(http.StatusBadRequest, req{method: "PATCH", path: "/api/v1/workflows/nightly", key: e.keyA, body: map[string]any{"assets": []string{}}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "w", "assets": []string{"ghost"}}})

	// Trigger with an idempotency key, twice.
	var trig struct {
		RunID  string `json:"run_id"`
		Status string `json:"status"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/workflows/nightly/trigger", key: e.keyA, headers: map[string]string{"Idempotency-Key": "k1"}}).json(t, &trig)
	first := trig.RunID
	if trig.Status != "pending" || first == "" {
		t.Fatalf("trigger = %+v", trig)
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/workflows/nightly/trigger", key: e.keyA, body: map[string]any{"partition_key": "p"}, headers: map[string]string{"Idempotency-Key": "k1"}}).json(t, &trig)
	if trig.RunID != first {
		t.Fatalf("idempotent trigger made a second run %s", trig.RunID)
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: e.keyA, body: map[string]any{"asset_name": "extract", "partition_key": "2026-11-27"}}).json(t, &trig)
	mat := trig.RunID
	e.must(http.StatusNotFound, req{method: "POST", path: "/api/v1/materialize", key: e.keyA, body: map[string]any{"asset_name": "ghost"}})
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/materialize", key: e.keyA, body: map[string]any{}})

	var run sdkRun
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + mat, key: e.keyA}).json(t, &run)
	if run.ID != mat || run.RunID != mat || run.Status != "pending" || run.State != "pending" || run.AssetName == nil || *run.AssetName != "extract" ||
		run.WorkflowName != nil || run.PartitionKey == nil || *run.PartitionKey != "2026-11-27" || run.Attempt != 1 || run.Trigger != "manual" || run.Metadata == nil {
		t.Fatalf("run = %+v", run)
	}
	if run.StartedAt != run.CreatedAt || !tsPattern.MatchString(run.StartedAt) || run.CompletedAt != nil || run.Error != nil {
		t.Fatalf("run times = %+v", run)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflow-runs/" + first, key: e.keyA}).json(t, &run)
	if run.WorkflowName == nil || *run.WorkflowName != "nightly" || run.AssetName != nil {
		t.Fatalf("workflow run = %+v", run)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/executions/" + first, key: e.keyA})

	var runs struct {
		Runs  []sdkRun `json:"runs"`
		Total int      `json:"total"`
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs?asset_name=extract", key: e.keyA}).json(t, &runs)
	if runs.Total != 1 || runs.Runs[0].ID != mat {
		t.Fatalf("runs of extract = %+v", runs)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs?workflow_name=nightly&status=pending", key: e.keyA}).json(t, &runs)
	if runs.Total != 1 || runs.Runs[0].ID != first {
		t.Fatalf("runs of nightly = %+v", runs)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs?asset_name=ghost", key: e.keyA}).json(t, &runs)
	if runs.Total != 0 || runs.Runs == nil {
		t.Fatalf("runs of an unknown asset = %+v", runs)
	}
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/runs?status=exploded", key: e.keyA})

	// Cancel: a cancelled materialization reads failed with the reason; a
	// cancelled workflow run reads cancelled.
	e.must(http.StatusOK, req{method: "POST", path: "/api/v1/runs/" + mat + "/cancel", key: e.keyA}).json(t, &run)
	if run.Status != "failed" || run.State != "cancelled" || run.Error == nil || run.CompletedAt == nil {
		t.Fatalf("cancelled materialization = %+v", run)
	}
	e.must(http.StatusOK, req{method: "POST", path: "/api/v1/runs/" + first + "/cancel", key: e.keyA}).json(t, &run)
	if run.Status != "cancelled" {
		t.Fatalf("cancelled workflow run = %+v", run)
	}
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/runs/" + first + "/cancel", key: e.keyA})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/runs/" + mat, key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + mat, key: e.keyA})
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/runs/not-a-uuid", key: e.keyA})

	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/workflows/" + v1, key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/workflows/" + v1, key: e.keyA})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/workflows/nightly", key: e.keyA})
	// By name, every version goes.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "nightly"}})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/workflows/nightly", key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/workflows/nightly/versions", key: e.keyA})
	e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/workflows/nightly", key: e.keyA})
}
