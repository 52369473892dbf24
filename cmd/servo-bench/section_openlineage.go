package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
)

func init() {
	registerSection(section{Name: "openlineage", Run: measureOpenLineage})
}

// sparkBatch returns n Spark-shaped RunEvents (a START and a COMPLETE per
// run) over 50 jobs chained through 51 BigQuery datasets (job j reads t<j>
// and writes t<j+1>), with the facets Spark sends: dataSource (uri
// "bigquery"), schema, symlinks, column lineage, a plan.
func sparkBatch(n int) []map[string]any {
	const producer = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark"
	facet := func(url string, kv ...any) map[string]any {
		f := map[string]any{"_producer": producer, "_schemaURL": url}
		for i := 0; i+1 < len(kv); i += 2 {
			f[kv[i].(string)] = kv[i+1]
		}
		return f
	}
	fields := []any{map[string]any{"name": "id", "type": "long"}, map[string]any{"name": "amount", "type": "decimal(12,2)"}, map[string]any{"name": "created_at", "type": "timestamp"}}
	dataset := func(i int, lineage bool) map[string]any {
		name := fmt.Sprintf("acme-data.sales.t%03d", i)
		facets := map[string]any{
			"dataSource": facet("https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet", "name", "bigquery", "uri", "bigquery"),
			"schema":     facet("https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", "fields", fields),
			"symlinks": facet("https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet",
				"identifiers", []any{map[string]any{"namespace": "hive://metastore:9083", "name": name, "type": "TABLE"}}),
		}
		if lineage {
			in := func(f string) map[string]any {
				return map[string]any{"inputFields": []any{map[string]any{"namespace": "bigquery", "name": fmt.Sprintf("acme-data.sales.t%03d", i-1), "field": f,
					"transformations": []any{map[string]any{"type": "DIRECT", "subtype": "IDENTITY"}}}}}
			}
			facets["columnLineage"] = facet("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
				"fields", map[string]any{"id": in("id"), "amount": in("amount"), "created_at": in("created_at")})
		}
		return map[string]any{"namespace": "bigquery", "name": name, "facets": facets}
	}
	plan := map[string]any{"_producer": producer, "_schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet",
		"plan": []any{map[string]any{"class": "org.apache.spark.sql.execution.datasources.InsertIntoHadoopFsRelationCommand", "num-children": 1}}}
	start := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	out := make([]map[string]any, 0, n)
	for r := 0; len(out) < n; r++ {
		runID, _ := uuid.NewV7()
		job := r % 50
		for k, typ := range []string{"START", "COMPLETE"} {
			if len(out) == n {
				break
			}
			out = append(out, map[string]any{
				"eventType": typ, "eventTime": start.Add(time.Duration(r)*time.Minute + time.Duration(k)*time.Second).Format(time.RFC3339Nano),
				"producer": producer, "schemaURL": openlineage.SpecURL + "#/$defs/RunEvent",
				"run":     map[string]any{"runId": runID.String(), "facets": map[string]any{"spark.logicalPlan": plan}},
				"job":     map[string]any{"namespace": "spark-dataproc", "name": fmt.Sprintf("etl.job_%02d", job)},
				"inputs":  []any{dataset(job, false)},
				"outputs": []any{dataset(job+1, true)},
			})
		}
	}
	return out
}

// measureOpenLineage ingests a batch of Spark events into a fresh tenant
// as POST /lineage/batch does (Ingester.IngestBatch), and holds it
// against COPYing the rows the batch stores at least (one workflow per job,
// one run per runId, one lineage_events row per event) as the owner.
func measureOpenLineage(ctx context.Context, e *env) ([]row, error) {
	n := 1000
	if e.o.Short {
		n = 100
	}
	store, err := repository.Open(ctx, e.base.app.Config().ConnString(), repository.PoolConfig{MaxOpen: 4, ConnectTimeout: 10 * time.Second}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	defer func() { _ = store.Close() }()
	svc := service.New(store, nil, nil)
	ing, err := openlineage.New(svc, store, openlineage.Options{})
	if err != nil {
		return nil, err
	}
	round := 0
	newTenant := func() (string, error) {
		round++
		t := fmt.Sprintf("bench-ol-%s-%d", uuid.NewString()[:8], round)
		_, err := svc.CreateTenant(domain.WithSystem(ctx), domain.Tenant{ID: t})
		return t, err
	}
	var failed error
	lastTenant := ""
	ingest := func() result {
		events := sparkBatch(n)
		t, err := newTenant()
		if err != nil {
			failed = err
			return result{Errors: 1}
		}
		lastTenant = t
		tctx := domain.WithTenant(ctx, t)
		batch := make([][]byte, len(events))
		for i := range events {
			if batch[i], err = json.Marshal(events[i]); err != nil {
				failed = err
				return result{Errors: 1}
			}
		}
		began := time.Now()
		for i, o := range ing.IngestBatch(tctx, batch) {
			if o.Err != nil {
				failed = fmt.Errorf("event %d: %w", i, o.Err)
				return result{Errors: 1}
			}
		}
		took := time.Since(began)
		return result{RPS: float64(n) / took.Seconds(), P50: took, P99: took, N: n}
	}
	copyRows := func() result {
		events := sparkBatch(n)
		t, err := newTenant()
		if err != nil {
			failed = err
			return result{Errors: 1}
		}
		began := time.Now()
		if err := copyOpenLineage(ctx, e, t, events); err != nil {
			failed = err
			return result{Errors: 1}
		}
		took := time.Since(began)
		return result{RPS: float64(n) / took.Seconds(), P50: took, P99: took, N: n}
	}
	rs, err := e.interleaved(series{"OpenLineage ingest (Spark events)", ingest}, series{"pgx COPY of the same rows", copyRows})
	if failed != nil {
		return nil, failed
	}
	if err != nil {
		return nil, err
	}
	rows := []row{{Name: fmt.Sprintf("OpenLineage ingest, %d Spark events (events/s)", n), Clients: 1, Servo: rs[0],
		Baseline: "pgx COPY of workflows, runs and events", Base: rs[1], Target: ">= 0.3x"}}
	walk, err := measureColumnWalk(ctx, e, svc, lastTenant)
	if err != nil {
		return nil, err
	}
	return append(rows, walk), nil
}

// columnWalkSQL is the bare column walk the baseline runs as the owner:
// the columns downstream of one, each once at its shortest depth, and the
// edges among them.
const columnWalkSQL = `WITH RECURSIVE down(asset_id, col, depth) AS (
	SELECT $1::uuid, $2::text, 0
	UNION
	SELECT e.downstream_asset_id, e.downstream_column, w.depth + 1
	FROM down w JOIN column_edges e ON e.upstream_asset_id = w.asset_id AND e.upstream_column = w.col
	WHERE w.depth < $3 AND e.tenant_id = $4
), kept AS (SELECT asset_id, col, min(depth) AS depth FROM down GROUP BY asset_id, col)
SELECT k.asset_id, k.col, k.depth, a.name, NULL::uuid, '' FROM kept k JOIN assets a ON a.id = k.asset_id
UNION ALL
SELECT e.upstream_asset_id, e.upstream_column, 0, '', e.downstream_asset_id, e.downstream_column
FROM kept k JOIN column_edges e ON e.upstream_asset_id = k.asset_id AND e.upstream_column = k.col
WHERE e.tenant_id = $4 AND k.depth < $3`

// measureColumnWalk holds GET /assets/{asset}/columns/{column}/lineage
// (downstream, through the whole chain of the last ingested tenant)
// against the bare recursive query.
func measureColumnWalk(ctx context.Context, e *env, svc *service.Service, tenant string) (row, error) {
	if tenant == "" {
		return row{}, fmt.Errorf("no tenant was ingested")
	}
	key, _, err := svc.CreateAPIKey(domain.WithSystem(ctx), service.CreateAPIKeyInput{TenantID: tenant})
	if err != nil {
		return row{}, err
	}
	const root, column, depth = "bigquery/acme-data.sales.t000", "amount", 50
	a, err := svc.ResolveAsset(domain.WithTenant(ctx, tenant), root)
	if err != nil {
		return row{}, err
	}
	path := fmt.Sprintf("/api/v1/assets/%s/columns/%s/lineage?direction=downstream&depth=%d", a.ID, column, depth)
	var l struct {
		Nodes []json.RawMessage `json:"nodes"`
		Edges []json.RawMessage `json:"edges"`
	}
	if err := e.getJSON(ctx, path, key, &l); err != nil {
		return row{}, err
	}
	rowsOf := func(ctx context.Context) (int, error) {
		rows, err := e.base.owner.Query(ctx, columnWalkSQL, a.ID, column, depth, tenant)
		if err != nil {
			return 0, err
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		return n, rows.Err()
	}
	n, err := rowsOf(ctx)
	if err != nil {
		return row{}, err
	}
	// The baseline returns the root too.
	if n != len(l.Nodes)+1+len(l.Edges) || len(l.Nodes) == 0 {
		return row{}, fmt.Errorf("column walk: %d nodes and %d edges over HTTP, %d rows from the bare query", len(l.Nodes), len(l.Edges), n)
	}
	logf("column walk reaches %d columns over %d edges", len(l.Nodes), len(l.Edges))
	// One client, so that the figures are latencies, and within the
	// tenant's share of the expensive routes (as the asset lineage row).
	const clients = 1
	rs, err := e.interleaved(
		series{"GET column lineage", e.loadGET(ctx, clients, key, func(int, int) string { return path })},
		series{"bare recursive column walk", func() result {
			return runLoad(ctx, clients, e.o.Duration, func(ctx context.Context, _, _ int) error {
				_, err := rowsOf(ctx)
				return err
			})
		}},
	)
	if err != nil {
		return row{}, err
	}
	return row{Name: fmt.Sprintf("GET column lineage (%d columns, %d edges)", len(l.Nodes), len(l.Edges)), Clients: clients,
		Servo: rs[0], Baseline: "bare recursive query (pgx, owner)", Base: rs[1], Latency: true, Target: "report"}, nil
}

// copyOpenLineage COPYs, in one transaction as the owner, a workflow per
// job, a run per runId and an event row per event.
func copyOpenLineage(ctx context.Context, e *env, tenant string, events []map[string]any) error {
	now := time.Now().UTC()
	workflows := map[string]uuid.UUID{}
	runs := map[string]uuid.UUID{}
	var wfRows, runRows, evRows [][]any
	for _, ev := range events {
		job := ev["job"].(map[string]any)["name"].(string)
		wf, ok := workflows[job]
		if !ok {
			wf, _ = uuid.NewV7()
			workflows[job] = wf
			wfRows = append(wfRows, []any{wf, tenant, "spark-dataproc/" + job, 1, now, now})
		}
		runID := ev["run"].(map[string]any)["runId"].(string)
		if _, ok := runs[runID]; !ok {
			id := uuid.MustParse(runID)
			runs[runID] = id
			runRows = append(runRows, []any{id, tenant, wf, "succeeded", "openlineage", "openlineage:" + runID, now, now})
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		at, _ := time.Parse(time.RFC3339Nano, ev["eventTime"].(string))
		id, _ := uuid.NewV7()
		evRows = append(evRows, []any{id, tenant, runs[runID], "RunEvent", ev["eventType"], at, hex.EncodeToString(sum[:]), string(body), now})
	}
	return pgx.BeginFunc(ctx, e.base.owner, func(tx pgx.Tx) error {
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"workflows", []string{"id", "tenant_id", "name", "version", "created_at", "updated_at"}, wfRows},
			{"executions", []string{"id", "tenant_id", "workflow_id", "state", "trigger", "idempotency_key", "created_at", "updated_at"}, runRows},
			{"lineage_events", []string{"id", "tenant_id", "execution_id", "event_kind", "event_type", "event_time", "event_hash", "event", "received_at"}, evRows},
		} {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		return nil
	})
}
