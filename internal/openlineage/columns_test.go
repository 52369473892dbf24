package openlineage_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/testdb"
)

// columnWalk answers a column walk as "asset.column@depth" nodes and
// "up.col -> down.col TYPE/SUBTYPE" edges, sorted.
func columnWalk(t *testing.T, f *fx, asset, column string, dir domain.Direction) (nodes, edges []string) {
	t.Helper()
	a, err := f.svc.ResolveAsset(f.ctx, asset)
	if err != nil {
		t.Fatalf("asset %s: %v", asset, err)
	}
	l, err := f.svc.ColumnLineage(f.ctx, domain.ColumnLineageQuery{Asset: a.ID, Column: column, Direction: dir})
	if err != nil {
		t.Fatalf("column lineage of %s.%s: %v", asset, column, err)
	}
	names := map[uuid.UUID]string{a.ID: a.Name}
	for _, n := range l.Nodes {
		names[n.AssetID] = n.AssetName
		nodes = append(nodes, fmt.Sprintf("%s.%s@%d", n.AssetName, n.Column, n.Depth))
	}
	for _, e := range l.Edges {
		edges = append(edges, fmt.Sprintf("%s.%s -> %s.%s %s/%s", names[e.UpstreamAssetID], e.UpstreamColumn, names[e.DownstreamAssetID], e.DownstreamColumn, e.TransformationType, e.TransformationSubtype))
	}
	slices.Sort(nodes)
	slices.Sort(edges)
	return nodes, edges
}

// TestIngest_ColumnLineage checks, on both backends, that the schema facet
// becomes versioned fields tied to the producing run, and that the column
// walk of a fixture job answers exactly the columns its columnLineage facet
// names (field-level and dataset-level entries, with their
// transformations), and nothing of another tenant that sent events over
// datasets of the same names.
func TestIngest_ColumnLineage(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		f := newFx(t, b, openlineage.Lenient)
		g := newFxWith(t, b, f.svc, f.ing, f.clock)
		for _, file := range []string{"servo/spark_bigquery_start.json", "servo/spark_bigquery_complete.json", "servo/spark_file_to_hive.json", "servo/airflow_task_complete.json"} {
			f.ingest(fixture(t, file))
		}
		// Tenant g: the Airflow task only, and a manual edge of its own on
		// a dataset name f also has.
		g.ingest(fixture(t, "servo/airflow_task_complete.json"))

		const daily = "gs://acme-warehouse//marts/orders_daily"
		const orders = "bigquery/acme-data.sales.orders"
		nodes, edges := columnWalk(t, f, daily, "total", domain.Upstream)
		wantNodes := []string{orders + ".amount@1", orders + ".customer_id@1", orders + ".status@1"}
		wantEdges := []string{
			orders + ".amount -> " + daily + ".total DIRECT/AGGREGATION",
			orders + ".customer_id -> " + daily + ".total INDIRECT/GROUP_BY",
			orders + ".status -> " + daily + ".total INDIRECT/FILTER",
		}
		if !slices.Equal(nodes, wantNodes) || !slices.Equal(edges, wantEdges) {
			t.Errorf("upstream of total:\n%v\n%v\nwant\n%v\n%v", nodes, edges, wantNodes, wantEdges)
		}
		nodes, _ = columnWalk(t, f, orders, "status", domain.Downstream)
		if want := []string{daily + ".customer_id@1", daily + ".order_date@1", daily + ".total@1"}; !slices.Equal(nodes, want) {
			t.Errorf("downstream of status: %v, want %v", nodes, want)
		}
		nodes, edges = columnWalk(t, f, "file//data/raw/customers.csv", "email", domain.Both)
		if want := []string{"hive://metastore:9083/default.customers.email_hash@1"}; !slices.Equal(nodes, want) || len(edges) != 1 || !strings.HasSuffix(edges[0], "DIRECT/TRANSFORMATION") {
			t.Errorf("downstream of email: %v %v", nodes, edges)
		}

		// The output's schema is version 1, produced by the run.
		a, err := f.svc.ResolveAsset(f.ctx, daily)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := f.svc.AssetVersions(f.ctx, a.ID)
		if err != nil || len(vs) != 1 || vs[0].Version != 1 || vs[0].RunID == nil || vs[0].RunID.String() != "0193a1b2-7c00-7e11-8a00-00000000a002" {
			t.Fatalf("versions %+v, %v", vs, err)
		}
		var names []string
		for _, fl := range vs[0].Fields {
			names = append(names, fl.Name+":"+fl.Type)
		}
		if strings.Join(names, ",") != "order_date:date,customer_id:long,total:decimal(22,2)" {
			t.Errorf("fields %v", names)
		}
		// A new schema is version 2; the same schema again is not new.
		ev := fixture(t, "servo/spark_bigquery_complete.json")
		ev["run"].(map[string]any)["runId"] = "0193a1b2-7c00-7e11-8a00-00000000a0ff"
		out := ev["outputs"].([]any)[0].(map[string]any)["facets"].(map[string]any)["schema"].(map[string]any)
		out["fields"] = append(out["fields"].([]any), map[string]any{"name": "orders", "type": "long"})
		f.ingest(ev)
		f.ingest(fixture(t, "servo/spark_bigquery_complete.json")) // a duplicate
		if vs, err := f.svc.AssetVersions(f.ctx, a.ID); err != nil || len(vs) != 2 || vs[0].Version != 2 || len(vs[0].Fields) != 4 {
			t.Errorf("after a new schema: %+v, %v", vs, err)
		}

		// Tenant g sees its own Airflow columns only, and none of f's.
		const dw = "postgres://warehouse:5432/dw.analytics.orders"
		gNodes, gEdges := columnWalk(t, g, dw, "amount", domain.Both)
		fNodes, fEdges := columnWalk(t, f, dw, "amount", domain.Both)
		if !slices.Equal(gNodes, fNodes) || !slices.Equal(gEdges, fEdges) || len(gNodes) != 1 || len(gEdges) != 2 {
			t.Errorf("the Airflow job's column walk: g %v %v, f %v %v", gNodes, gEdges, fNodes, fEdges)
		}
		if _, err := g.svc.ColumnLineage(g.ctx, domain.ColumnLineageQuery{Asset: a.ID, Column: "total"}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("g walks f's asset: %v, want not found", err)
		}
		if _, err := g.svc.AssetVersions(g.ctx, a.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("g lists f's versions: %v, want not found", err)
		}
		if _, err := f.svc.ColumnLineage(f.ctx, domain.ColumnLineageQuery{Asset: a.ID, Column: "no_such_column"}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("an unknown column: %v, want not found", err)
		}
	})
}
