package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// graph builds, for one tenant:
//
//	src1 ─┐            ┌─> report
//	      ├─> clean ─> mart
//	src2 ─┘     │      └─> export
//	            └─(control)─> audit
//	sibling <─ src2 (sibling of clean, via src2)
func graph(t *testing.T, a *tenant) map[string]*domain.Asset {
	t.Helper()
	m := map[string]*domain.Asset{}
	for _, n := range []string{"src1", "src2", "clean", "mart", "report", "export", "audit", "sibling"} {
		m[n] = a.asset(n)
	}
	a.edge(m["src1"], m["clean"])
	a.edge(m["src2"], m["clean"])
	a.edge(m["clean"], m["mart"])
	a.edge(m["mart"], m["report"])
	a.edge(m["mart"], m["export"])
	a.edge(m["src2"], m["sibling"])
	_, err := a.svc.CreateDependency(a.ctx, m["clean"].ID, m["audit"].ID, domain.DependencyControl)
	mustOK(t, err)
	return m
}

func nodeNames(l *domain.Lineage) map[string]string {
	out := map[string]string{}
	for _, n := range l.Nodes {
		out[n.Asset.Name] = fmt.Sprintf("%s@%d", n.Direction, n.Depth)
	}
	return out
}

func TestLineage(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		g := graph(t, a)
		cases := []struct {
			name  string
			q     domain.LineageQuery
			want  map[string]string
			edges int
		}{
			{"upstream", domain.LineageQuery{Root: g["mart"].ID, Direction: domain.Upstream},
				map[string]string{"clean": "upstream@1", "src1": "upstream@2", "src2": "upstream@2"}, 3},
			{"downstream", domain.LineageQuery{Root: g["clean"].ID, Direction: domain.Downstream},
				map[string]string{"mart": "downstream@1", "audit": "downstream@1", "report": "downstream@2", "export": "downstream@2"}, 4},
			{"both, no siblings", domain.LineageQuery{Root: g["clean"].ID, Direction: domain.Both},
				map[string]string{"src1": "upstream@1", "src2": "upstream@1", "mart": "downstream@1", "audit": "downstream@1", "report": "downstream@2", "export": "downstream@2"}, 6},
			{"depth limit", domain.LineageQuery{Root: g["src1"].ID, Direction: domain.Downstream, MaxDepth: 2},
				map[string]string{"clean": "downstream@1", "mart": "downstream@2", "audit": "downstream@2"}, 3},
			{"type filter", domain.LineageQuery{Root: g["clean"].ID, Direction: domain.Downstream, Types: []domain.DependencyType{domain.DependencyControl}},
				map[string]string{"audit": "downstream@1"}, 1},
			{"leaf", domain.LineageQuery{Root: g["report"].ID, Direction: domain.Downstream},
				map[string]string{}, 0},
		}
		for _, tc := range cases {
			l, err := svc.Lineage(a.ctx, tc.q)
			mustOK(t, err)
			got := nodeNames(l)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(l.Edges) != tc.edges || l.Truncated {
				t.Errorf("%s: nodes %v edges %d truncated %v; want %v, %d edges", tc.name, got, len(l.Edges), l.Truncated, tc.want, tc.edges)
			}
			if l.Root.ID != tc.q.Root {
				t.Errorf("%s: root %s", tc.name, l.Root.Name)
			}
			// Every edge joins two assets of the answer.
			in := map[uuid.UUID]bool{l.Root.ID: true}
			for _, n := range l.Nodes {
				in[n.Asset.ID] = true
			}
			for _, e := range l.Edges {
				if !in[e.UpstreamAssetID] || !in[e.DownstreamAssetID] {
					t.Errorf("%s: edge %v leaves the answer", tc.name, e)
				}
			}
		}

		for _, q := range []domain.LineageQuery{
			{Root: g["mart"].ID, MaxDepth: -1},
			{Root: g["mart"].ID, MaxDepth: domain.MaxLineageDepth + 1},
			{Root: g["mart"].ID, Direction: "sideways"},
			{Root: g["mart"].ID, Types: []domain.DependencyType{"bogus"}},
			{Root: uuid.Nil},
		} {
			_, err := svc.Lineage(a.ctx, q)
			mustErr(t, err, domain.ErrInvalid)
		}
		_, err := svc.Lineage(a.ctx, domain.LineageQuery{Root: uuid.New()})
		mustErr(t, err, domain.ErrNotFound)
	})
}

// TestLineageCycleSafe plants a cycle behind the service's back (raw SQL as
// the owner) and checks that the walk still ends, reporting each node once.
func TestLineageCycleSafe(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		x, y, z := a.asset("x"), a.asset("y"), a.asset("z")
		a.edge(x, y)
		a.edge(y, z)
		b.Exec(t, "INSERT INTO asset_dependencies (id, tenant_id, upstream_asset_id, downstream_asset_id, dependency_type, created_at) VALUES (?, ?, ?, ?, 'data', ?)",
			uuid.NewString(), a.id, z.ID.String(), x.ID.String(), "2026-01-01 00:00:00+00:00")
		for _, dir := range []domain.Direction{domain.Upstream, domain.Downstream, domain.Both} {
			l, err := svc.Lineage(a.ctx, domain.LineageQuery{Root: x.ID, Direction: dir, MaxDepth: domain.MaxLineageDepth})
			mustOK(t, err)
			names := []string{}
			for _, n := range l.Nodes {
				names = append(names, n.Asset.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"y", "z"}) {
				t.Errorf("%s: nodes %v, want [y z] once each", dir, names)
			}
		}
	})
}

// TestLineageQueryBudget proves the walk costs one query per level
// whatever the width of the graph, and one more for the rows.
func TestLineageQueryBudget(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		// A layered graph: 6 layers of 5, each node with 2 parents above.
		const layers, width = 6, 5
		nodes := make([][]*domain.Asset, layers)
		for l := range layers {
			for i := range width {
				nodes[l] = append(nodes[l], a.asset(fmt.Sprintf("n%d_%d", l, i)))
				if l > 0 {
					a.edge(nodes[l-1][i], nodes[l][i])
					a.edge(nodes[l-1][(i+1)%width], nodes[l][i])
				}
			}
		}
		for _, depth := range []int{1, 3, 5} {
			var n atomic.Int64
			ctx := repository.CountQueries(a.ctx, &n)
			l, err := svc.Lineage(ctx, domain.LineageQuery{Root: nodes[0][0].ID, Direction: domain.Downstream, MaxDepth: depth})
			mustOK(t, err)
			if got := n.Load(); got != int64(depth+1) {
				t.Errorf("depth %d: %d queries, want %d", depth, got, depth+1)
			}
			maxDepth := 0
			for _, nd := range l.Nodes {
				maxDepth = max(maxDepth, nd.Depth)
			}
			if maxDepth != depth {
				t.Errorf("depth %d: deepest node at %d", depth, maxDepth)
			}
		}
		// Upstream of the bottom-left node reaches every layer above it.
		l, err := svc.Lineage(a.ctx, domain.LineageQuery{Root: nodes[layers-1][0].ID, Direction: domain.Upstream, MaxDepth: 10})
		mustOK(t, err)
		// Parents of (l, i) are (l-1, i) and (l-1, i+1): 2+3+4+5+5 ancestors.
		if len(l.Nodes) != 19 {
			t.Errorf("upstream reached %d nodes, want 19", len(l.Nodes))
		}
	})
}

// TestLineageTruncated fans one root out to more than MaxLineageNodes
// children (inserted in bulk as the owner) and expects the cap.
func TestLineageTruncated(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		root := a.asset("root")
		const n = domain.MaxLineageNodes + 5
		ts := "2026-01-01 00:00:00+00:00"
		for start := 0; start < n; start += 1000 {
			var assets, edges []string
			for i := start; i < min(start+1000, n); i++ {
				id := uuid.NewString()
				assets = append(assets, fmt.Sprintf("('%s', '%s', 'child-%05d', '%s', '%s')", id, a.id, i, ts, ts))
				edges = append(edges, fmt.Sprintf("('%s', '%s', '%s', '%s', 'data', '%s')", uuid.NewString(), a.id, root.ID, id, ts))
			}
			b.Exec(t, "INSERT INTO assets (id, tenant_id, name, created_at, updated_at) VALUES "+join(assets))
			b.Exec(t, "INSERT INTO asset_dependencies (id, tenant_id, upstream_asset_id, downstream_asset_id, dependency_type, created_at) VALUES "+join(edges))
		}
		l, err := svc.Lineage(a.ctx, domain.LineageQuery{Root: root.ID, Direction: domain.Downstream})
		mustOK(t, err)
		if !l.Truncated || len(l.Nodes) != domain.MaxLineageNodes || len(l.Edges) != domain.MaxLineageNodes {
			t.Fatalf("truncated %v, %d nodes, %d edges; want true, %d, %d", l.Truncated, len(l.Nodes), len(l.Edges), domain.MaxLineageNodes, domain.MaxLineageNodes)
		}
	})
}

func join(parts []string) string { return strings.Join(parts, ", ") }

// TestLineageGlobalRoot: a global asset has no edges (edges are tenant
// rows), so its lineage is itself, for a tenant and for the system scope;
// the system scope cannot see a tenant's asset or its graph.
func TestLineageGlobalRoot(t *testing.T) {
	t.Parallel()
	testdb.ForEachIsolated(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		g, err := svc.CreateAsset(sys(), service.CreateAssetInput{Name: "global-root-" + a.id, Global: true})
		mustOK(t, err)
		for name, ctx := range map[string]context.Context{"tenant": a.ctx, "system": sys()} {
			l, err := svc.Lineage(ctx, domain.LineageQuery{Root: g.ID, MaxDepth: 3})
			mustOK(t, err)
			if l.Root.ID != g.ID || len(l.Nodes) != 0 || len(l.Edges) != 0 || l.Truncated {
				t.Errorf("%s: root %s, %d nodes, %d edges, truncated %v; want the global asset alone", name, l.Root.ID, len(l.Nodes), len(l.Edges), l.Truncated)
			}
		}
		g2 := graph(t, a)
		_, err = svc.Lineage(sys(), domain.LineageQuery{Root: g2["clean"].ID})
		mustErr(t, err, domain.ErrNotFound)
	})
}
