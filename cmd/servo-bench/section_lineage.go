package main

import (
	"context"
	"encoding/json"
	"fmt"
)

func init() { registerSection(section{Name: "lineage", Run: measureLineage}) }

// measureLineage holds GET /assets/{id}/lineage (downstream, one client)
// against the equivalent recursive query (closure node rows and followed
// edges, bare pgx) at two sizes of the same graph: the full depth (7,604
// nodes at full size, as the core row) and the smallest depth whose closure
// holds at least a fifth of that (about 1,600 nodes). -profile
// lineage-full or lineage-mid profiles one of them.
func measureLineage(ctx context.Context, e *env) ([]row, error) {
	full := e.o.Sizes.Layers
	total, err := e.base.lineageQuery(ctx, e.data.DAGRoot, full)
	if err != nil {
		return nil, err
	}
	mid := full
	for d := 1; d < full; d++ {
		n, err := e.base.lineageQuery(ctx, e.data.DAGRoot, d)
		if err != nil {
			return nil, err
		}
		if 5*n >= total {
			mid = d
			break
		}
	}
	var rows []row
	for _, m := range []struct {
		depth   int
		profile string
	}{{full, "lineage-full"}, {mid, "lineage-mid"}} {
		r, err := e.lineageRow(ctx, m.depth, m.profile)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// lineageRow measures the downstream lineage of the DAG root at depth.
func (e *env) lineageRow(ctx context.Context, depth int, profile string) (row, error) {
	d := e.data
	path := fmt.Sprintf("/api/v1/assets/%s/lineage?direction=downstream&depth=%d", d.DAGRoot, depth)
	var lin struct {
		Nodes []json.RawMessage `json:"nodes"`
		Edges []json.RawMessage `json:"edges"`
	}
	if err := e.getJSON(ctx, path, d.DAGKey, &lin); err != nil {
		return row{}, err
	}
	nodes, edges, err := e.base.lineageEdgesQuery(ctx, d.DAGRoot, depth)
	if err != nil {
		return row{}, err
	}
	if nodes != len(lin.Nodes)+1 || edges != len(lin.Edges) {
		return row{}, fmt.Errorf("lineage at depth %d over HTTP holds %d nodes and %d edges, the equivalent query %d and %d (root included)", depth, len(lin.Nodes), len(lin.Edges), nodes, edges)
	}
	servo := e.loadGET(ctx, 1, d.DAGKey, func(int, int) string { return path })
	if err := e.profile(ctx, profile, servo); err != nil {
		return row{}, err
	}
	res, err := e.interleaved(
		series{fmt.Sprintf("servo lineage depth %d", depth), servo},
		series{fmt.Sprintf("baseline nodes + edges depth %d", depth), func() result {
			return runLoad(ctx, 1, e.o.Duration, func(ctx context.Context, _, _ int) error {
				_, _, err := e.base.lineageEdgesQuery(ctx, d.DAGRoot, depth)
				return err
			})
		}},
	)
	if err != nil {
		return row{}, err
	}
	return row{Name: fmt.Sprintf("lineage downstream depth %d (%d nodes, %d edges)", depth, len(lin.Nodes), len(lin.Edges)), Clients: 1,
		Servo: res[0], Baseline: "one WITH RECURSIVE query: nodes + edges (bare pgx)", Base: res[1], Latency: true, Target: "<= 1.25x"}, nil
}
