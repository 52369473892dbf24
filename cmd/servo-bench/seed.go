package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

// sizes is the shape of the seeded data.
type sizes struct {
	// Tenants hold Assets in all; the first tenant (the one measured) holds
	// BigAssets of them, enough for a page 1,000 deep, the rest share the
	// remainder.
	Tenants, Assets, BigAssets int
	// Layers of Width nodes, each node with Parents parents in the layer
	// above, for the lineage tenant.
	Layers, Width, Parents int
	// Runs of the first tenant's assets.
	Runs int
}

var (
	fullSizes  = sizes{Tenants: 100, Assets: 100_000, BigAssets: 50_050, Layers: 20, Width: 500, Parents: 3, Runs: 100_000}
	shortSizes = sizes{Tenants: 5, Assets: 2_000, BigAssets: 1_200, Layers: 5, Width: 20, Parents: 3, Runs: 500}
)

// seeded is what the measurements need to know about the seeded data.
type seeded struct {
	// BigTenant holds the point-read and list assets; BigKey is its API key.
	BigTenant, BigKey string
	// PointIDs are assets of BigTenant to read.
	PointIDs []uuid.UUID
	// DAGTenant holds the layered graph; DAGKey is its API key.
	DAGTenant, DAGKey string
	// DAGRoot is a layer-0 node.
	DAGRoot uuid.UUID
}

// seed creates the tenants and their keys through the service (as the
// application role would), then bulk-loads assets, edges and runs with COPY
// as the owner, and analyzes the tables.
func seed(ctx context.Context, svc *service.Service, ownerURL string, sz sizes, logf func(string, ...any)) (*seeded, error) {
	sys := domain.WithSystem(ctx)
	out := &seeded{BigTenant: "bench-000", DAGTenant: "bench-dag"}
	tenants := make([]string, sz.Tenants)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("bench-%03d", i)
	}
	for _, t := range append(tenants, out.DAGTenant) {
		secret, _, err := svc.CreateAPIKey(sys, service.CreateAPIKeyInput{TenantID: t, CreateTenant: true})
		if err != nil {
			return nil, fmt.Errorf("create key for %s: %w", t, err)
		}
		switch t {
		case out.BigTenant:
			out.BigKey = secret
		case out.DAGTenant:
			out.DAGKey = secret
		}
	}

	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return nil, fmt.Errorf("connect as owner: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()

	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	assetCols := []string{"id", "tenant_id", "name", "asset_type", "owner", "tags", "created_at", "updated_at"}
	newUUID := func() uuid.UUID { return uuid.Must(uuid.NewV7()) }

	// Assets over the tenants: BigAssets in the first, the rest spread.
	start := time.Now()
	var bigIDs []uuid.UUID
	rows := make([][]any, 0, sz.Assets)
	for i := 0; i < sz.Assets; i++ {
		t := 0
		if i >= sz.BigAssets {
			t = 1 + (i-sz.BigAssets)%(sz.Tenants-1)
		}
		id := newUUID()
		if t == 0 {
			bigIDs = append(bigIDs, id)
		}
		at := base.Add(time.Duration(i) * time.Millisecond)
		rows = append(rows, []any{id, tenants[t], fmt.Sprintf("asset.%06d", i), "table", "team-" + fmt.Sprint(i%7), `["bench"]`, at, at})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"assets"}, assetCols, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy assets: %w", err)
	}
	for range min(1000, len(bigIDs)) {
		out.PointIDs = append(out.PointIDs, bigIDs[rng.IntN(len(bigIDs))])
	}
	logf("seeded %d assets over %d tenants in %s", sz.Assets, sz.Tenants, time.Since(start).Round(time.Millisecond))

	// The layered DAG: each node of layer L+1 has Parents distinct random
	// parents in layer L.
	start = time.Now()
	layers := make([][]uuid.UUID, sz.Layers)
	rows = rows[:0]
	n := 0
	for l := range layers {
		layers[l] = make([]uuid.UUID, sz.Width)
		for j := range layers[l] {
			id := newUUID()
			layers[l][j] = id
			at := base.Add(time.Duration(n) * time.Millisecond)
			rows = append(rows, []any{id, out.DAGTenant, fmt.Sprintf("dag.l%02d.n%04d", l, j), "table", "", `[]`, at, at})
			n++
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"assets"}, assetCols, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy DAG assets: %w", err)
	}
	out.DAGRoot = layers[0][0]
	var edges [][]any
	for l := 1; l < sz.Layers; l++ {
		for _, child := range layers[l] {
			for _, p := range rng.Perm(sz.Width)[:sz.Parents] {
				edges = append(edges, []any{newUUID(), out.DAGTenant, layers[l-1][p], child, "data", base})
			}
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"asset_dependencies"},
		[]string{"id", "tenant_id", "upstream_asset_id", "downstream_asset_id", "dependency_type", "created_at"},
		pgx.CopyFromRows(edges)); err != nil {
		return nil, fmt.Errorf("copy edges: %w", err)
	}
	logf("seeded a DAG of %d layers x %d nodes, %d edges, in %s", sz.Layers, sz.Width, len(edges), time.Since(start).Round(time.Millisecond))

	// Finished runs of the first tenant's assets.
	start = time.Now()
	rows = rows[:0]
	for i := 0; i < sz.Runs; i++ {
		at := base.Add(time.Duration(i) * time.Millisecond)
		done := at.Add(time.Second)
		rows = append(rows, []any{newUUID(), out.BigTenant, bigIDs[i%len(bigIDs)], "succeeded", "manual", at, done, at, done})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"executions"},
		[]string{"id", "tenant_id", "asset_id", "state", "trigger", "started_at", "completed_at", "created_at", "updated_at"},
		pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy runs: %w", err)
	}
	logf("seeded %d runs in %s", sz.Runs, time.Since(start).Round(time.Millisecond))

	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	return out, nil
}
