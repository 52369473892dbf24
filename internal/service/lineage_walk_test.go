package service_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/testdb"
)

// edgeNames lists the answer's edges as "up->down" by asset name, sorted,
// duplicates kept.
func edgeNames(l *domain.Lineage) []string {
	names := map[uuid.UUID]string{l.Root.ID: l.Root.Name}
	for _, n := range l.Nodes {
		names[n.Asset.ID] = n.Asset.Name
	}
	out := []string{}
	for _, e := range l.Edges {
		out = append(out, names[e.UpstreamAssetID]+"->"+names[e.DownstreamAssetID])
	}
	slices.Sort(out)
	return out
}

// typedEdge creates an edge of the given type.
func (tn *tenant) typedEdge(up, down *domain.Asset, typ domain.DependencyType) {
	tn.t.Helper()
	if _, err := tn.svc.CreateDependency(tn.ctx, up.ID, down.ID, typ); err != nil {
		tn.t.Fatalf("create edge %s -> %s: %v", up.Name, down.Name, err)
	}
}

// lineageCase is one walk and the answer expected of it.
type lineageCase struct {
	name  string
	q     domain.LineageQuery
	nodes map[string]string // name -> direction@depth
	edges []string          // sorted "up->down"
}

func checkLineage(t *testing.T, l *domain.Lineage, tc lineageCase, truncated bool) {
	t.Helper()
	if got := nodeNames(l); fmt.Sprint(got) != fmt.Sprint(tc.nodes) {
		t.Errorf("%s: nodes %v, want %v", tc.name, got, tc.nodes)
	}
	if got := edgeNames(l); !slices.Equal(got, tc.edges) {
		t.Errorf("%s: edges %v, want %v", tc.name, got, tc.edges)
	}
	if l.Truncated != truncated {
		t.Errorf("%s: truncated %v, want %v", tc.name, l.Truncated, truncated)
	}
	if l.Root.ID != tc.q.Root {
		t.Errorf("%s: root %s", tc.name, l.Root.Name)
	}
}

// TestLineageWalkCycle plants a cycle x -> y -> z -> x behind the service's
// back: each walk ends, the root is never a node, every node comes once at
// its shortest distance (upstream or downstream, whichever is nearer), and
// every edge once, though in both directions the walk reaches y -> z from
// both of its ends.
func TestLineageWalkCycle(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		x, y, z := a.asset("x"), a.asset("y"), a.asset("z")
		a.edge(x, y)
		a.edge(y, z)
		b.Exec(t, "INSERT INTO asset_dependencies (id, tenant_id, upstream_asset_id, downstream_asset_id, dependency_type, created_at) VALUES (?, ?, ?, ?, 'data', ?)",
			uuid.NewString(), a.id, z.ID.String(), x.ID.String(), "2026-01-01 00:00:00+00:00")
		all := []string{"x->y", "y->z", "z->x"}
		for _, tc := range []lineageCase{
			{"downstream", domain.LineageQuery{Root: x.ID, Direction: domain.Downstream, MaxDepth: domain.MaxLineageDepth},
				map[string]string{"y": "downstream@1", "z": "downstream@2"}, all},
			{"upstream", domain.LineageQuery{Root: x.ID, Direction: domain.Upstream, MaxDepth: domain.MaxLineageDepth},
				map[string]string{"z": "upstream@1", "y": "upstream@2"}, all},
			{"both", domain.LineageQuery{Root: x.ID, Direction: domain.Both, MaxDepth: domain.MaxLineageDepth},
				map[string]string{"y": "downstream@1", "z": "upstream@1"}, all},
			{"both, depth 1", domain.LineageQuery{Root: x.ID, Direction: domain.Both, MaxDepth: 1},
				map[string]string{"y": "downstream@1", "z": "upstream@1"}, []string{"x->y", "z->x"}},
		} {
			l, err := svc.Lineage(a.ctx, tc.q)
			mustOK(t, err)
			checkLineage(t, l, tc, false)
		}
	})
}

// TestLineageWalkShortestDepth: a node reached by a long and a short path
// is reported at the short one, and the walk goes on from it.
//
//	r -> a -> b -> c -> d
//	r ------------>
func TestLineageWalkShortestDepth(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, tn, _ := setup(t, b)
		m := map[string]*domain.Asset{}
		for _, n := range []string{"r", "a", "b", "c", "d"} {
			m[n] = tn.asset(n)
		}
		for _, e := range [][2]string{{"r", "a"}, {"a", "b"}, {"b", "c"}, {"r", "c"}, {"c", "d"}} {
			tn.edge(m[e[0]], m[e[1]])
		}
		for _, tc := range []lineageCase{
			{"downstream", domain.LineageQuery{Root: m["r"].ID, Direction: domain.Downstream},
				map[string]string{"a": "downstream@1", "c": "downstream@1", "b": "downstream@2", "d": "downstream@2"},
				[]string{"a->b", "b->c", "c->d", "r->a", "r->c"}},
			{"downstream, depth 1", domain.LineageQuery{Root: m["r"].ID, Direction: domain.Downstream, MaxDepth: 1},
				map[string]string{"a": "downstream@1", "c": "downstream@1"}, []string{"r->a", "r->c"}},
			{"upstream", domain.LineageQuery{Root: m["d"].ID, Direction: domain.Upstream},
				map[string]string{"c": "upstream@1", "b": "upstream@2", "r": "upstream@2", "a": "upstream@3"},
				[]string{"a->b", "b->c", "c->d", "r->a", "r->c"}},
			{"upstream, depth 2", domain.LineageQuery{Root: m["d"].ID, Direction: domain.Upstream, MaxDepth: 2},
				map[string]string{"c": "upstream@1", "b": "upstream@2", "r": "upstream@2"}, []string{"b->c", "c->d", "r->c"}},
		} {
			l, err := svc.Lineage(tn.ctx, tc.q)
			mustOK(t, err)
			checkLineage(t, l, tc, false)
		}
	})
}

// TestLineageWalkBothDirections: both walks advance one level per step, each
// bounded by the depth on its own side.
//
//	u2 -> u1 -> m -> d1 -> d2 -> d3
func TestLineageWalkBothDirections(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, tn, _ := setup(t, b)
		chain := []string{"u2", "u1", "m", "d1", "d2", "d3"}
		m := map[string]*domain.Asset{}
		for i, n := range chain {
			m[n] = tn.asset(n)
			if i > 0 {
				tn.edge(m[chain[i-1]], m[n])
			}
		}
		for _, tc := range []lineageCase{
			{"depth 1", domain.LineageQuery{Root: m["m"].ID, MaxDepth: 1},
				map[string]string{"u1": "upstream@1", "d1": "downstream@1"}, []string{"m->d1", "u1->m"}},
			{"depth 2", domain.LineageQuery{Root: m["m"].ID, MaxDepth: 2},
				map[string]string{"u1": "upstream@1", "d1": "downstream@1", "u2": "upstream@2", "d2": "downstream@2"},
				[]string{"d1->d2", "m->d1", "u1->m", "u2->u1"}},
			{"depth 3: the upstream side has ended", domain.LineageQuery{Root: m["m"].ID, MaxDepth: 3},
				map[string]string{"u1": "upstream@1", "d1": "downstream@1", "u2": "upstream@2", "d2": "downstream@2", "d3": "downstream@3"},
				[]string{"d1->d2", "d2->d3", "m->d1", "u1->m", "u2->u1"}},
		} {
			l, err := svc.Lineage(tn.ctx, tc.q)
			mustOK(t, err)
			checkLineage(t, l, tc, false)
		}
	})
}

// TestLineageWalkTypes: the type filter applies to every edge of the walk,
// so a node behind an edge of another type is not reached.
//
//	a -data-> b -control-> c
//	a -control-> d
//	b -metadata-> e
func TestLineageWalkTypes(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, tn, _ := setup(t, b)
		m := map[string]*domain.Asset{}
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			m[n] = tn.asset(n)
		}
		tn.typedEdge(m["a"], m["b"], domain.DependencyData)
		tn.typedEdge(m["b"], m["c"], domain.DependencyControl)
		tn.typedEdge(m["a"], m["d"], domain.DependencyControl)
		tn.typedEdge(m["b"], m["e"], domain.DependencyMetadata)
		root := m["a"].ID
		for _, tc := range []lineageCase{
			{"all types", domain.LineageQuery{Root: root, Direction: domain.Downstream},
				map[string]string{"b": "downstream@1", "d": "downstream@1", "c": "downstream@2", "e": "downstream@2"},
				[]string{"a->b", "a->d", "b->c", "b->e"}},
			{"data and metadata", domain.LineageQuery{Root: root, Direction: domain.Downstream, Types: []domain.DependencyType{domain.DependencyData, domain.DependencyMetadata}},
				map[string]string{"b": "downstream@1", "e": "downstream@2"}, []string{"a->b", "b->e"}},
			{"control", domain.LineageQuery{Root: root, Direction: domain.Downstream, Types: []domain.DependencyType{domain.DependencyControl}},
				map[string]string{"d": "downstream@1"}, []string{"a->d"}},
			{"control, upstream of c", domain.LineageQuery{Root: m["c"].ID, Direction: domain.Upstream, Types: []domain.DependencyType{domain.DependencyControl}},
				map[string]string{"b": "upstream@1"}, []string{"b->c"}},
			{"metadata, both ways from b", domain.LineageQuery{Root: m["b"].ID, Types: []domain.DependencyType{domain.DependencyMetadata}},
				map[string]string{"e": "downstream@1"}, []string{"b->e"}},
		} {
			l, err := svc.Lineage(tn.ctx, tc.q)
			mustOK(t, err)
			checkLineage(t, l, tc, false)
		}
	})
}

// TestLineageWalkCap: the nodes kept are the first by depth, upstream
// before downstream, then id; the walk says it was cut only when a node
// was left out, even when the kept nodes fill the cap exactly.
//
//	p1, p2 -> r -> c1, c2, c3, c4;  c1 -> g
func TestLineageWalkCap(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, tn, _ := setup(t, b)
		m := map[string]*domain.Asset{}
		for _, n := range []string{"r", "p1", "p2", "c1", "c2", "c3", "c4", "g"} {
			m[n] = tn.asset(n)
		}
		for _, p := range []string{"p1", "p2"} {
			tn.edge(m[p], m["r"])
		}
		for _, c := range []string{"c1", "c2", "c3", "c4"} {
			tn.edge(m["r"], m[c])
		}
		tn.edge(m["c1"], m["g"])
		// The children in the keep order (by id).
		kids := []string{"c1", "c2", "c3", "c4"}
		slices.SortFunc(kids, func(a, b string) int { return bytes.Compare(m[a].ID[:], m[b].ID[:]) })
		level1 := map[string]string{"p1": "upstream@1", "p2": "upstream@1"}
		level1Edges := []string{"p1->r", "p2->r"}
		for _, k := range kids {
			level1[k] = "downstream@1"
			level1Edges = append(level1Edges, "r->"+k)
		}
		slices.Sort(level1Edges)
		withG := map[string]string{"g": "downstream@2"}
		for k, v := range level1 {
			withG[k] = v
		}
		root := m["r"].ID
		for _, tc := range []struct {
			lineageCase
			cap       int
			truncated bool
		}{
			{lineageCase{"cap 1: one parent", domain.LineageQuery{Root: root, Direction: domain.Both},
				map[string]string{"p1": "upstream@1"}, []string{"p1->r"}}, 1, true},
			{lineageCase{"cap 3: parents first, then the smallest id", domain.LineageQuery{Root: root, Direction: domain.Both},
				map[string]string{"p1": "upstream@1", "p2": "upstream@1", kids[0]: "downstream@1"},
				sorted("p1->r", "p2->r", "r->"+kids[0])}, 3, true},
			{lineageCase{"cap 6: level 1 exactly, g left out", domain.LineageQuery{Root: root, Direction: domain.Both},
				level1, level1Edges}, 6, true},
			{lineageCase{"cap 6, depth 1: nothing left out", domain.LineageQuery{Root: root, Direction: domain.Both, MaxDepth: 1},
				level1, level1Edges}, 6, false},
			{lineageCase{"cap 7: everything", domain.LineageQuery{Root: root, Direction: domain.Both},
				withG, sorted(append([]string{"c1->g"}, level1Edges...)...)}, 7, false},
			{lineageCase{"cap 2, downstream: the two smallest ids", domain.LineageQuery{Root: root, Direction: domain.Downstream},
				map[string]string{kids[0]: "downstream@1", kids[1]: "downstream@1"}, sorted("r->"+kids[0], "r->"+kids[1])}, 2, true},
		} {
			l, err := svc.LineageCapped(tn.ctx, tc.q, tc.cap)
			mustOK(t, err)
			checkLineage(t, l, tc.lineageCase, tc.truncated)
		}
	})
}

// TestLineageWalkCapEdgesOfTheCutLevel: when the cap cuts a level short of
// the depth limit, the edges that leave its kept nodes towards nodes of the
// answer are still reported, as they are when the level is not cut.
//
//	r -> a -> n1, n2, n3;  s0 -> s1 (the two smallest ids of n1..n3)
func TestLineageWalkCapEdgesOfTheCutLevel(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, tn, _ := setup(t, b)
		r, a := tn.asset("r"), tn.asset("a")
		tn.edge(r, a)
		level2 := []*domain.Asset{tn.asset("n1"), tn.asset("n2"), tn.asset("n3")}
		for _, n := range level2 {
			tn.edge(a, n)
		}
		slices.SortFunc(level2, func(x, y *domain.Asset) int { return bytes.Compare(x.ID[:], y.ID[:]) })
		s0, s1 := level2[0], level2[1]
		tn.edge(s0, s1)
		nodes := map[string]string{"a": "downstream@1", s0.Name: "downstream@2", s1.Name: "downstream@2"}
		for _, tc := range []lineageCase{
			{"depth 5", domain.LineageQuery{Root: r.ID, Direction: domain.Downstream, MaxDepth: 5},
				nodes, sorted("r->a", "a->"+s0.Name, "a->"+s1.Name, s0.Name+"->"+s1.Name)},
			{"depth 2: the cut level is the last", domain.LineageQuery{Root: r.ID, Direction: domain.Downstream, MaxDepth: 2},
				nodes, sorted("r->a", "a->"+s0.Name, "a->"+s1.Name)},
		} {
			l, err := svc.LineageCapped(tn.ctx, tc.q, 3)
			mustOK(t, err)
			checkLineage(t, l, tc, true)
		}
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// TestLineageWalkCrossTenant: another tenant's graph never joins the walk.
// Tenant B holds a copy of A's shape; each walks only its own, B cannot
// walk from A's asset, and the repository port returns neither edges nor
// rows of A's ids to B (nor edges to the system scope).
func TestLineageWalkCrossTenant(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, ta, tb := setup(t, b)
		ga, gb := graph(t, ta), graph(t, tb)
		want := map[string]string{"src1": "upstream@1", "src2": "upstream@1", "mart": "downstream@1", "audit": "downstream@1", "report": "downstream@2", "export": "downstream@2"}
		for _, c := range []struct {
			tn *tenant
			g  map[string]*domain.Asset
		}{{ta, ga}, {tb, gb}} {
			l, err := svc.Lineage(c.tn.ctx, domain.LineageQuery{Root: c.g["clean"].ID})
			mustOK(t, err)
			if got := nodeNames(l); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("tenant %s: nodes %v, want %v", c.tn.id, got, want)
			}
			for _, n := range l.Nodes {
				if n.Asset.TenantID == nil || *n.Asset.TenantID != c.tn.id {
					t.Errorf("tenant %s: node %s of tenant %v", c.tn.id, n.Asset.Name, n.Asset.TenantID)
				}
			}
			for _, e := range l.Edges {
				if e.TenantID != c.tn.id {
					t.Errorf("tenant %s: edge of tenant %s", c.tn.id, e.TenantID)
				}
			}
		}
		_, err := svc.Lineage(tb.ctx, domain.LineageQuery{Root: ga["clean"].ID})
		mustErr(t, err, domain.ErrNotFound)

		ids := []uuid.UUID{}
		for _, a := range ga {
			ids = append(ids, a.ID)
		}
		q := domain.EdgeQuery{DownstreamOf: ids, UpstreamOf: ids}
		edges, err := b.Store.LineageEdges(ta.ctx, q, nil)
		mustOK(t, err)
		if len(edges) != 7 {
			t.Errorf("tenant A: %d edges of its own graph, want 7", len(edges))
		}
		for name, ctx := range map[string]context.Context{"tenant B": tb.ctx, "system": sys()} {
			edges, err := b.Store.LineageEdges(ctx, q, nil)
			mustOK(t, err)
			if len(edges) != 0 {
				t.Errorf("%s: %d of A's edges", name, len(edges))
			}
		}
		assets, err := b.Store.LineageAssets(tb.ctx, ids, nil)
		mustOK(t, err)
		if len(assets) != 0 {
			t.Errorf("tenant B: %d of A's assets", len(assets))
		}
		assets, err = b.Store.LineageAssets(ta.ctx, ids, nil)
		mustOK(t, err)
		if len(assets) != len(ids) {
			t.Errorf("tenant A: %d of its %d assets", len(assets), len(ids))
		}
	})
}
