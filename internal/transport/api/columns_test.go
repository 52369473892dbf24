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

// TestColumnsAPI covers dataset versions, the column walk in its three
// formats, and manual column edges over HTTP, checked against the OpenAPI
// document: a Spark event's schema facet is version 1 of its output,
// produced by its run; the walk of a column answers the columns its
// columnLineage facet names; another tenant reaches none of it; bad input
// is a 4xx that changes nothing.
func TestColumnsAPI(t *testing.T) {
	t.Parallel()
	e := newOLEnv(t, openlineage.Lenient)
	docT, _ := fetchOpenAPI(t, e)
	doc := olDoc{t: t, doc: docT}
	for _, f := range []string{"servo/spark_bigquery_start.json", "servo/spark_bigquery_complete.json"} {
		body, err := os.ReadFile(filepath.Join(olFixtures, f))
		if err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: body})
	}
	daily := url.PathEscape("gs://acme-warehouse//marts/orders_daily")
	orders := url.PathEscape("bigquery/acme-data.sales.orders")

	res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + daily + "/versions", key: e.keyA})
	doc.check("/api/v1/assets/{asset}/versions", "GET", res)
	var vs struct {
		Versions []struct {
			Version int
			RunID   *string `json:"run_id"`
			Fields  []struct{ Name, Type string }
		}
	}
	res.json(t, &vs)
	if len(vs.Versions) != 1 || vs.Versions[0].Version != 1 || vs.Versions[0].RunID == nil || *vs.Versions[0].RunID != "0193a1b2-7c00-7e11-8a00-00000000a002" || len(vs.Versions[0].Fields) != 3 {
		t.Fatalf("versions %+v", vs)
	}
	res = e.must(http.StatusOK, req{method: "GET", path: "/api/v1/assets/" + daily + "/versions/1", key: e.keyA})
	doc.check("/api/v1/assets/{asset}/versions/{version}", "GET", res)
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + daily + "/versions/2", key: e.keyA})
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/assets/" + daily + "/versions/0", key: e.keyA})
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/assets/" + daily + "/versions/x", key: e.keyA})

	lineage := "/api/v1/assets/" + daily + "/columns/total/lineage"
	res = e.must(http.StatusOK, req{method: "GET", path: lineage + "?direction=upstream&depth=3", key: e.keyA})
	doc.check("/api/v1/assets/{asset}/columns/{column}/lineage", "GET", res)
	var l struct {
		Root  struct{ Column string }
		Nodes []struct {
			AssetName string `json:"asset_name"`
			Column    string
			Direction string
		}
		Edges []struct {
			UpstreamColumn        string `json:"upstream_column"`
			TransformationType    string `json:"transformation_type"`
			TransformationSubtype string `json:"transformation_subtype"`
		}
	}
	res.json(t, &l)
	var got []string
	for _, n := range l.Nodes {
		got = append(got, n.AssetName+"."+n.Column+" "+n.Direction)
	}
	want := "bigquery/acme-data.sales.orders.amount upstream,bigquery/acme-data.sales.orders.customer_id upstream,bigquery/acme-data.sales.orders.status upstream"
	if l.Root.Column != "total" || strings.Join(got, ",") != want || len(l.Edges) != 3 {
		t.Errorf("column lineage %+v", l)
	}
	dot := e.must(http.StatusOK, req{method: "GET", path: lineage + "?format=dot", key: e.keyA})
	if s := string(dot.body); !strings.HasPrefix(s, "digraph lineage {") || !strings.Contains(s, `"DIRECT/AGGREGATION"`) || !strings.Contains(s, `orders_daily.total`) {
		t.Errorf("dot:\n%s", s)
	}
	mer := e.must(http.StatusOK, req{method: "GET", path: lineage + "?format=mermaid", key: e.keyA})
	if s := string(mer.body); !strings.HasPrefix(s, "flowchart LR") || strings.Count(s, " --> n0\n") != 3 {
		t.Errorf("mermaid:\n%s", s)
	}
	for _, bad := range []string{"?direction=sideways", "?depth=0", "?depth=51", "?format=png"} {
		e.must(http.StatusBadRequest, req{method: "GET", path: lineage + bad, key: e.keyA})
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + daily + "/columns/nope/lineage", key: e.keyA})

	// Manual edges.
	body := map[string]any{"upstream": "bigquery/acme-data.sales.orders", "upstream_column": "order_id",
		"downstream": "gs://acme-warehouse//marts/orders_daily", "downstream_column": "total", "transformation_type": "INDIRECT", "transformation_subtype": "JOIN"}
	doc.checkRequest("/api/v1/column-dependencies", body)
	res = e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/column-dependencies", key: e.keyA, body: body})
	doc.check("/api/v1/column-dependencies", "POST", res)
	var created struct {
		ColumnDependency struct{ ID, Source string } `json:"column_dependency"`
	}
	res.json(t, &created)
	if created.ColumnDependency.Source != "manual" {
		t.Errorf("created %+v", created)
	}
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/column-dependencies", key: e.keyA, body: body})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/column-dependencies/" + created.ColumnDependency.ID, key: e.keyA})
	res.json(t, &l)
	e.must(http.StatusOK, req{method: "GET", path: lineage + "?direction=upstream", key: e.keyA}).json(t, &l)
	if len(l.Nodes) != 4 {
		t.Errorf("after the manual edge, %d upstream columns, want 4", len(l.Nodes))
	}
	for name, b := range map[string]any{
		"no upstream column":  map[string]any{"upstream": "bigquery/acme-data.sales.orders", "downstream": "gs://acme-warehouse//marts/orders_daily", "downstream_column": "total"},
		"a column to itself":  map[string]any{"upstream": "bigquery/acme-data.sales.orders", "upstream_column": "a", "downstream": "bigquery/acme-data.sales.orders", "downstream_column": "a"},
		"column too long":     map[string]any{"upstream": "bigquery/acme-data.sales.orders", "upstream_column": strings.Repeat("c", 256), "downstream": "gs://acme-warehouse//marts/orders_daily", "downstream_column": "total"},
		"no downstream asset": map[string]any{"upstream": "bigquery/acme-data.sales.orders", "upstream_column": "a", "downstream_column": "b"},
	} {
		if r := e.do(req{method: "POST", path: "/api/v1/column-dependencies", key: e.keyA, body: b}); r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", name, r.status, r.body)
		}
	}
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/column-dependencies", key: e.keyA, body: `{"upstream": 1}`})
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/column-dependencies/not-a-uuid", key: e.keyA})

	// Tenant B reaches none of it.
	for _, p := range []string{"/api/v1/assets/" + daily + "/versions", "/api/v1/assets/" + daily + "/versions/1", lineage,
		"/api/v1/assets/" + orders + "/columns/status/lineage", "/api/v1/column-dependencies/" + created.ColumnDependency.ID} {
		e.must(http.StatusNotFound, req{method: "GET", path: p, key: e.keyB})
	}
	e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/column-dependencies/" + created.ColumnDependency.ID, key: e.keyB})
	e.must(http.StatusNotFound, req{method: "POST", path: "/api/v1/column-dependencies", key: e.keyB, body: body})

	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/column-dependencies/" + created.ColumnDependency.ID, key: e.keyA})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/column-dependencies/" + created.ColumnDependency.ID, key: e.keyA})
}
