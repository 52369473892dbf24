package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

func TestDependencyCRUD(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		raw, clean, mart := a.asset("raw"), a.asset("clean"), a.asset("mart")
		e1 := a.edge(raw, clean)
		e2, err := svc.CreateDependency(a.ctx, clean.ID, mart.ID, domain.DependencyControl)
		mustOK(t, err)
		if e1.TenantID != a.id || e1.DependencyType != domain.DependencyData || e2.DependencyType != domain.DependencyControl {
			t.Fatalf("edges = %+v, %+v", e1, e2)
		}
		got, err := svc.GetDependency(a.ctx, e1.ID)
		mustOK(t, err)
		if got.UpstreamAssetID != raw.ID || got.DownstreamAssetID != clean.ID {
			t.Fatalf("get = %+v", got)
		}

		up, down, err := svc.AssetDependencies(a.ctx, clean.ID)
		mustOK(t, err)
		if len(up) != 1 || up[0].ID != e1.ID || len(down) != 1 || down[0].ID != e2.ID {
			t.Fatalf("dependencies of clean: up %v down %v", up, down)
		}
		ups, err := svc.AssetDependenciesIn(a.ctx, clean.ID, domain.Upstream)
		mustOK(t, err)
		downs, err := svc.AssetDependenciesIn(a.ctx, clean.ID, domain.Downstream)
		mustOK(t, err)
		if len(ups) != 1 || ups[0].ID != e1.ID || len(downs) != 1 || downs[0].ID != e2.ID {
			t.Fatalf("directional lists: %v / %v", ups, downs)
		}

		mustOK(t, svc.DeleteDependency(a.ctx, e1.ID))
		_, err = svc.GetDependency(a.ctx, e1.ID)
		mustErr(t, err, domain.ErrNotFound)
		mustErr(t, svc.DeleteDependency(a.ctx, e1.ID), domain.ErrNotFound)

		a.edge(raw, clean)
		n, err := svc.DeleteAssetDependencies(a.ctx, clean.ID)
		mustOK(t, err)
		if n != 2 {
			t.Fatalf("deleted %d edges of clean, want 2", n)
		}
		up, down, err = svc.AssetDependencies(a.ctx, clean.ID)
		mustOK(t, err)
		if len(up)+len(down) != 0 {
			t.Fatalf("edges left: %v %v", up, down)
		}

		// Deleting an asset removes its edges.
		e := a.edge(raw, mart)
		mustOK(t, svc.DeleteAsset(a.ctx, raw.ID))
		_, err = svc.GetDependency(a.ctx, e.ID)
		mustErr(t, err, domain.ErrNotFound)
	})
}

func TestDependencyRules(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		x, y, z := a.asset("x"), a.asset("y"), a.asset("z")
		a.edge(x, y)
		a.edge(y, z)
		cases := []struct {
			name     string
			up, down uuid.UUID
			typ      domain.DependencyType
			want     error
		}{
			{"self edge", x.ID, x.ID, domain.DependencyData, domain.ErrInvalid},
			{"unknown type", x.ID, z.ID, "lineage", domain.ErrInvalid},
			{"missing upstream", uuid.New(), z.ID, domain.DependencyData, domain.ErrNotFound},
			{"missing downstream", x.ID, uuid.New(), domain.DependencyData, domain.ErrNotFound},
			{"duplicate", x.ID, y.ID, domain.DependencyData, domain.ErrConflict},
			{"two-node cycle", y.ID, x.ID, domain.DependencyData, domain.ErrConflict},
			{"long cycle", z.ID, x.ID, domain.DependencyData, domain.ErrConflict},
			{"cycle through another type", z.ID, x.ID, domain.DependencyControl, domain.ErrConflict},
		}
		for _, tc := range cases {
			_, err := svc.CreateDependency(a.ctx, tc.up, tc.down, tc.typ)
			if err == nil || !errorsIs(err, tc.want) {
				t.Errorf("%s: error = %v, want %v", tc.name, err, tc.want)
			}
		}
		// The same pair with another type is a different edge.
		_, err := svc.CreateDependency(a.ctx, x.ID, y.ID, domain.DependencyMetadata)
		mustOK(t, err)
		up, _, err := svc.AssetDependencies(a.ctx, y.ID)
		mustOK(t, err)
		if len(up) != 2 {
			t.Fatalf("y has %d upstream edges, want 2", len(up))
		}
	})
}

// TestDependencyConcurrentCycles races 20 inserts that would each close a
// cycle with one of the others: pairs (p_i, q_i) get p_i -> q_i and
// q_i -> p_i at the same time. Exactly one of each pair may win.
func TestDependencyConcurrentCycles(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		svc, a, _ := setup(t, b)
		const pairs = 10
		type pair struct{ p, q *domain.Asset }
		ps := make([]pair, pairs)
		for i := range ps {
			ps[i] = pair{a.asset(fmt.Sprintf("p%d", i)), a.asset(fmt.Sprintf("q%d", i))}
		}
		// A ring through all pairs as well: q_i -> p_{i+1} for all but the
		// last makes one long chain, so the races also span many hops.
		for i := 0; i < pairs-1; i++ {
			a.edge(ps[i].q, ps[i+1].p)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*pairs)
		for i := range ps {
			for _, dir := range []bool{true, false} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					up, down := ps[i].p, ps[i].q
					if !dir {
						up, down = down, up
					}
					_, err := svc.CreateDependency(a.ctx, up.ID, down.ID, domain.DependencyData)
					errs <- err
				}()
			}
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case errorsIs(err, domain.ErrConflict):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if won != pairs {
			t.Errorf("%d of %d inserts won, want exactly one per pair (%d)", won, 2*pairs, pairs)
		}
		assertAcyclic(t, svc, a.ctx, a, ps[0].p.ID)
	})
}

// assertAcyclic walks the whole tenant graph from every asset with the
// lineage service and fails when any asset reaches itself.
func assertAcyclic(t *testing.T, svc *service.Service, ctx context.Context, a *tenant, _ uuid.UUID) {
	t.Helper()
	list, err := svc.ListAssets(ctx, domain.AssetFilter{}, domain.Page{Limit: domain.MaxLimit})
	mustOK(t, err)
	for _, x := range list.Items {
		lin, err := svc.Lineage(ctx, domain.LineageQuery{Root: x.ID, Direction: domain.Downstream, MaxDepth: domain.MaxLineageDepth})
		mustOK(t, err)
		for _, n := range lin.Nodes {
			if n.Asset.ID == x.ID {
				t.Fatalf("cycle through %s", x.Name)
			}
		}
		for _, e := range lin.Edges {
			if e.DownstreamAssetID == x.ID {
				t.Fatalf("cycle: an edge leads back to %s", x.Name)
			}
		}
	}
}
