package api_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servo-data/servo/internal/openlineage"
)

// TestOpenLineageAPI_Producers sends the Spark- and Airflow-shaped events
// over HTTP. Lenient: each is taken, warnings name the facets that fail
// their schema, and every run answers at /runs/{runId} (trigger
// openlineage, the Airflow task under its DAG run) for its tenant only;
// another tenant sending the same events gets runs of its own under the
// same ids. Strict: Spark's uri "bigquery" is refused with its location.
func TestOpenLineageAPI_Producers(t *testing.T) {
	t.Parallel()
	const (
		dagRun  = "0193a1b0-1111-7a00-8000-0000000d0001"
		taskRun = "0193a1b0-2222-7a00-8000-0000000d0002"
		sparkRn = "0193a1b2-7c00-7e11-8a00-00000000a002"
	)
	files := []string{
		"servo/airflow_task_start.json", "servo/airflow_dag_start.json", "servo/airflow_task_complete.json",
		"servo/airflow_dag_complete.json", "servo/spark_bigquery_start.json", "servo/spark_bigquery_complete.json",
		"servo/spark_file_to_hive.json", "servo/spark_malformed_facets.json",
	}
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(olFixtures, f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("lenient", func(t *testing.T) {
		t.Parallel()
		e := newOLEnv(t, openlineage.Lenient)
		for _, key := range []string{e.keyA, e.keyB} {
			for _, f := range files {
				res := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: key, body: read(f)})
				var out olResult
				res.json(t, &out)
				warned := len(out.Warnings) > 0
				if warned != (f == "servo/spark_malformed_facets.json") {
					t.Errorf("%s: warnings %q", f, out.Warnings)
				}
				for _, w := range out.Warnings {
					if !strings.HasPrefix(w, "#/") || !strings.Contains(w, "kept as sent") {
						t.Errorf("%s: warning %q lacks its path or reason", f, w)
					}
				}
			}
			for _, id := range []string{dagRun, taskRun, sparkRn} {
				var run struct {
					ID, TenantID, Trigger, State string
					ParentID                     *string `json:"parent_id"`
				}
				e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + id, key: key}).json(t, &run)
				if run.ID != id || run.Trigger != "openlineage" || run.State != "succeeded" {
					t.Errorf("run %s: %+v", id, run)
				}
				if (id == taskRun) != (run.ParentID != nil && *run.ParentID == dagRun) {
					t.Errorf("run %s: parent %v", id, run.ParentID)
				}
				var evs LineageEvents
				e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + id + "/lineage-events", key: key}).json(t, &evs)
				if len(evs.Events) != 2 {
					t.Errorf("run %s: %d events, want 2", id, len(evs.Events))
				}
			}
		}
		// Each tenant reads its own run (of its own workflow) under the shared
		// id, never the other's.
		var a, b struct {
			WorkflowID string `json:"workflow_id"`
		}
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + dagRun, key: e.keyA}).json(t, &a)
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + dagRun, key: e.keyB}).json(t, &b)
		if a.WorkflowID == b.WorkflowID || a.WorkflowID == "" {
			t.Errorf("the shared runId reads workflow %q for A and %q for B", a.WorkflowID, b.WorkflowID)
		}
		// Servo does not start runs that claim to come from OpenLineage.
		e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/workflows/" + url.PathEscape("airflow-prod/orders_daily") + "/trigger", key: e.keyA,
			body: map[string]any{"trigger": "openlineage"}})
		e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/runs/" + dagRun, key: e.keyB})
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/runs/" + dagRun, key: e.keyA})
		e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + dagRun, key: e.keyB})
		e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/" + taskRun, key: e.keyB}) // the steps go with their run
	})
	t.Run("strict", func(t *testing.T) {
		t.Parallel()
		e := newOLEnv(t, openlineage.Strict)
		res := e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: read("servo/spark_bigquery_start.json")})
		if eb := res.errBody(t); eb.Details["#/inputs/0/facets/dataSource/uri"] == nil {
			t.Errorf("strict refusal %+v lacks the uri's location", eb)
		}
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: read("servo/airflow_dag_start.json")})
		e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/runs/0193a1b2-7c00-7e11-8a00-00000000a002", key: e.keyA})
	})
}

// LineageEvents is the body of GET /runs/{id}/lineage-events.
type LineageEvents struct {
	Events []map[string]any `json:"events"`
}
